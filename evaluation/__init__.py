"""Quality tooling above the services: reading and scoring QA sets (`evaluation.scoring`),
scoring the service's answers to them (`evaluation.answers`), the injection test set
(`evaluation.injection_set`), the python3-doc corpus (`evaluation.corpora`) and the loaders'
fuzzing seeds (`evaluation.fuzz_seeds`), used by `evaluate.py`, `finetune.py`, the benchmarks
and the quality tests."""
