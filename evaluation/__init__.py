"""Quality tooling above the services: reading and scoring QA sets (`evaluation.scoring`) and the
injection test set (`evaluation.injection_set`), used by `evaluate.py`, `finetune.py`, the
benchmarks and the quality tests."""
