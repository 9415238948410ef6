"""Local fine-tuning: instruction data from the knowledge base (`data`), LoRA training with peft
(`train`), export of the adapter for llama.cpp (`export`), base-vs-tuned evaluation (`compare`).
`finetune.py` is the command line over them."""
