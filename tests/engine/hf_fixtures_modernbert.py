"""A tiny random ModernBertForMaskedLM saved with a byte-level BPE tokenizer.json trained here.

Four layers, global every third (layers 0 and 3 global, 1 and 2 local), ``local_attention`` 8,
so a local layer sees only keys within ±4 tokens: the window bites on every test text. Rope
thetas differ from transformers' defaults, so a mapping that ignored the config would show.
The tokenizer has ModernBERT's specials at the end of the vocabulary, ``[MASK]`` swallowing
the space before it, and the post-processor ``[CLS] $A [SEP]``. transformers is imported only
here and in the tests, never by the app.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from tests.engine.hf_fixtures import CORPUS, _randomize

LOCAL_ATTENTION = 8  # keys within ±4 on local layers
GLOBAL_EVERY = 3
N_LAYERS = 4
LOCAL_LAYERS = [1, 2]
THETAS = {"full_attention": 80_000.0, "sliding_attention": 2_000.0}

_built: dict[str, Path] = {}


def modernbert_folder(tmp_path_factory, variant: str = "mlm") -> Path:
    """The saved folder of ``variant`` ("mlm", "old_config" or "base"), built once per session."""
    if variant not in _built:
        if variant == "mlm":
            folder = tmp_path_factory.mktemp("hf-modernbert")
            build_modernbert(folder)
        else:
            folder = tmp_path_factory.mktemp(f"hf-modernbert-{variant}")
            (old_config_copy if variant == "old_config" else base_model_copy)(
                modernbert_folder(tmp_path_factory), folder)
        _built[variant] = folder
    return _built[variant]


def train_tokenizer():
    """Byte-level BPE on the shared corpus, specials appended after the learned pieces."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(CORPUS * 3, trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    backend.add_special_tokens([AddedToken(name, special=True, lstrip=name == "[MASK]")
                                for name in ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")])
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return backend


def build_modernbert(folder: Path) -> None:
    from transformers import ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerFast

    backend = train_tokenizer()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]",
                                        sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]")
    ids = {name: backend.token_to_id(f"[{name.upper()}]") for name in ("cls", "sep", "pad")}
    config = ModernBertConfig(
        vocab_size=backend.get_vocab_size(), hidden_size=32, intermediate_size=48,
        num_hidden_layers=N_LAYERS, num_attention_heads=4, global_attn_every_n_layers=GLOBAL_EVERY,
        local_attention=LOCAL_ATTENTION, global_rope_theta=THETAS["full_attention"],
        local_rope_theta=THETAS["sliding_attention"], pad_token_id=ids["pad"],
        cls_token_id=ids["cls"], bos_token_id=ids["cls"], sep_token_id=ids["sep"],
        eos_token_id=ids["sep"], sparse_prediction=False, embedding_dropout=0.1, mlp_dropout=0.1)
    torch.manual_seed(6)
    model = ModernBertForMaskedLM(config)
    _randomize(model, seed=16, keep=("rotary_emb",))  # inverse frequencies are no weights
    with torch.no_grad():
        for layer in model.model.layers:  # sharper attention than unit-scale q and k give
            layer.attn.Wqkv.weight[:64] *= 1.5
        # The embedding norm makes the token table's scale irrelevant to the layers; a smaller
        # table keeps the tied decoder's logits near a real model's (|logit| ~ 10), where
        # float32 rounding stays well inside the 1e-4 the logits are held to.
        model.model.embeddings.tok_embeddings.weight *= 0.3
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # As the Hub's ModernBERT uploads name it; transformers reads their tokenizer.json as saved.
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings["tokenizer_class"] = "PreTrainedTokenizerFast"
    (folder / "tokenizer_config.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")


def old_config_copy(source: Path, folder: Path) -> None:
    """The same weights with config.json as the Hub's ModernBERT uploads have it: no layer_types
    or rope_parameters, but global_attn_every_n_layers and global_/local_rope_theta."""
    for path in source.iterdir():
        shutil.copy(path, folder / path.name)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config.pop("layer_types")
    rope = config.pop("rope_parameters")
    config.update(global_attn_every_n_layers=GLOBAL_EVERY, position_embedding_type="absolute",
                  global_rope_theta=rope["full_attention"]["rope_theta"],
                  local_rope_theta=rope["sliding_attention"]["rope_theta"])
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def base_model_copy(source: Path, folder: Path) -> None:
    """A ModernBertModel folder: the encoder alone, its keys without the ``model.`` prefix."""
    from transformers import ModernBertModel

    ModernBertModel.from_pretrained(source).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(source / name, folder / name)


def load_reference(folder: Path, head: bool = True):
    """transformers' model (eager attention, eval mode) and tokenizer for ``folder``."""
    from transformers import AutoTokenizer, ModernBertForMaskedLM, ModernBertModel

    model_class = ModernBertForMaskedLM if head else ModernBertModel
    model = model_class.from_pretrained(folder, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(folder)
