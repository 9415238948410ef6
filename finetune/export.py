"""A peft LoRA adapter as a GGUF LoRA adapter, so llama.cpp serves the fine-tuned model on top
of the quantized base GGUF (`lora_path` in a llamacpp profile).

Written by hand with the `gguf` package's writer and name map because llama.cpp's own converter
(`convert_lora_to_gguf.py`) is a script in its source tree, not a package on PyPI. The layout is
the one llama.cpp reads: `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`,
and per adapted weight `<gguf name>.lora_a` (r x in) and `.lora_b` (out x r).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from errors import RagchatError

_LORA_TENSOR = re.compile(r"^base_model\.model\.(?P<base>.+)\.lora_(?P<part>[AB])\.weight$")
_LAYER = re.compile(r"\.layers\.(\d+)\.")


class ExportError(RagchatError):
    """An adapter that cannot be written as a GGUF LoRA adapter."""


def export_gguf_adapter(adapter_dir: Path, architecture: str, out: Path) -> Path:
    """Write `adapter_dir` (peft format) to `out` for a base model of `architecture`."""
    import gguf
    from safetensors.numpy import load_file

    config_file = adapter_dir / "adapter_config.json"
    weights_file = adapter_dir / "adapter_model.safetensors"
    if not config_file.is_file() or not weights_file.is_file():
        raise ExportError(f"{adapter_dir}: no peft adapter here; run `python finetune.py train`")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("use_dora") or config.get("use_rslora"):
        raise ExportError("DoRA and rsLoRA adapters have no GGUF form in llama.cpp")
    arch = next((a for a, name in gguf.MODEL_ARCH_NAMES.items() if name == architecture), None)
    if arch is None:
        raise ExportError(f"llama.cpp does not know the architecture {architecture!r}")
    tensors = load_file(str(weights_file))
    blocks = 1 + max((int(n) for name in tensors for n in _LAYER.findall(name)), default=0)
    names = gguf.get_tensor_name_map(arch, blocks)

    writer = gguf.GGUFWriter(str(out), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for name, tensor in sorted(tensors.items()):
        match = _LORA_TENSOR.match(name)
        target = match and names.get_name(f"{match['base']}.weight", try_suffixes=(".weight",))
        if not target:
            raise ExportError(f"no llama.cpp tensor for adapter weight {name}")
        writer.add_tensor(f"{target}.lora_{match['part'].lower()}", tensor.astype("float32"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def base_architecture(base_model: str, gguf_file: str | None) -> str:
    """The llama.cpp architecture name of the base model: from its GGUF metadata, or from the
    `model_type` of its config.json."""
    if gguf_file:
        import gguf

        reader = gguf.GGUFReader(str(Path(base_model) / gguf_file))
        field = reader.fields["general.architecture"]
        return bytes(field.parts[field.data[0]]).decode()
    config = Path(base_model) / "config.json"
    if not config.is_file():
        raise ExportError(f"{config} not found: cannot tell the base model's architecture")
    return json.loads(config.read_text(encoding="utf-8"))["model_type"]
