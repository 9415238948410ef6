"""`python finetune.py build-data | train | export-gguf | eval`: fine-tune the local model on your
own documents and questions (see finetune/cli.py, and `[finetune]` in config.toml)."""

import sys

from finetune.cli import main

if __name__ == "__main__":
    sys.exit(main())
