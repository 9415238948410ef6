"""The RAG chain, in LCEL: (history, question) -> standalone question -> passages -> answer.

    chain.stream({"question": ..., "history": [...]}) yields partial dicts: the input keys,
    then `standalone_question`, then `sources` (the numbered passages, with scores), then the
    `answer` token by token. `chain.invoke` returns the same keys complete.

The system prompt is fixed and comes first, so llama.cpp reuses its cached prefix between
questions; the passages and the question follow in the user message.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from chains.citations import fit_to_budget, format_context

ANSWER_SYSTEM = (
    "You answer questions about the user's documents using only the numbered passages given "
    "with the question. Answer in the same language as the question, briefly. After each "
    "statement, cite the passage it comes from as [1], [2], and so on. If the passages do not "
    "contain the answer, say that the documents do not contain it, and do not guess."
)
ANSWER_USER = "Passages:\n{context}\n\nQuestion: {standalone_question}"

CONDENSE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation. "
    "Keep its language. Reply with the question only."
)

answer_prompt = ChatPromptTemplate.from_messages(
    [("system", ANSWER_SYSTEM), ("human", ANSWER_USER)]
)
condense_prompt = ChatPromptTemplate.from_messages(
    [("system", CONDENSE_SYSTEM), MessagesPlaceholder("history"), ("human", "{question}")]
)

PROMPT_OVERHEAD_TOKENS = 160
"""The fixed instructions and chat-template markup, in tokens (measured for the bundled model)."""


def history_messages(turns: list[tuple[str, str]]) -> list[BaseMessage]:
    """(question, answer) pairs as chat messages."""
    messages: list[BaseMessage] = []
    for question, answer in turns:
        messages += [HumanMessage(question), AIMessage(answer)]
    return messages


def build_rag_chain(
    retriever: BaseRetriever,
    llm: BaseChatModel,
    count_tokens: Callable[[str], int],
    context_budget: int,
) -> Runnable:
    """Input: {"question": str, "history": list[BaseMessage]}. Output keys: question, history,
    standalone_question, sources (list[Document]), answer (str)."""
    standalone = RunnableBranch(
        (lambda inputs: bool(inputs["history"]), condense_prompt | llm | StrOutputParser()),
        itemgetter("question"),
    )

    def passages(inputs: dict) -> list:
        found = retriever.invoke(inputs["standalone_question"])
        return fit_to_budget(found, count_tokens, context_budget)

    return (
        RunnablePassthrough.assign(standalone_question=standalone)
        .assign(sources=RunnableLambda(passages))
        .assign(
            answer=RunnablePassthrough.assign(context=lambda x: format_context(x["sources"]))
            | answer_prompt
            | llm
            | StrOutputParser()
        )
    )
