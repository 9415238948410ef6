"""The numbers an answer states, compared by value with those its passages state."""

from decimal import Decimal

from chains.quantities import stated


def test_numbers_are_read_by_value_across_separators_and_scale_words():
    assert stated("1750亿个参数") == stated("175 billion") == stated("175B") == {Decimal("1.75e11")}
    assert stated("100K –1M comparisons") == stated("100,000 and 1,000,000")
    assert stated("14,000亿 tokens") == {Decimal("1.4e12")}
    assert stated("在 2022年10月 推出, 占 0.5。") == {Decimal(2022), Decimal(10), Decimal("0.5")}


def test_a_model_name_counts_its_number_but_a_word_holding_digits_does_not():
    assert stated("GPT-4 has 10 layers.") == {Decimal(4), Decimal(10)}
    assert stated("word2vec v1.2 and e5") == set()


def test_unscaled_adds_the_number_as_written():
    """A passage saying "100 million" supports an answer saying "100"."""
    assert stated("100 million") == {Decimal("1e8")}
    assert stated("100 million", unscaled=True) == {Decimal("1e8"), Decimal(100)}
