"""An offline byte-level BPE ``CLIPTokenizer`` in which each corpus word is one token (for pretrain-t2i).

vocab.json and merges.txt are written from the words themselves: no download, any other text still
tokenises byte-wise, and textual inversion can add its placeholder token as it does on a hub model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import GenmixError


def byte_chars() -> list[str]:
    """GPT-2/CLIP byte-level alphabet: one printable unicode character per byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def words_of(texts) -> list[str]:
    """Lower-case words as CLIP's pre-tokeniser splits them (letters runs; digits and punctuation apart)."""
    out = []
    for t in texts:
        for w in re.findall(r"[a-z]+", t.lower().replace("{token}", " ")):
            if w not in out:
                out.append(w)
    return out


def bpe(symbols: list[str], ranks: dict) -> list[str]:
    """Byte-pair encoding of one word: merge the lowest-ranked adjacent pair until none applies."""
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), None), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        pairs = [(r, i) for r, i in pairs if r is not None]
        if not pairs:
            break
        _, i = min(pairs)
        symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2:]
    return symbols


def write_tokenizer(folder: Path, words, max_length: int):
    """vocab.json + merges.txt making each of ``words`` one token; returns a CLIPTokenizer (offline).

    Each word is first encoded with the merges so far; merges joining its pieces left to right are
    then appended. Later merges rank after every earlier one, so they never pre-empt an earlier
    word's merges: every word stays one token."""
    from transformers import CLIPTokenizer

    chars = byte_chars()
    vocab = chars + [c + "</w>" for c in chars]
    seen, merges, ranks = set(vocab), [], {}
    for w in dict.fromkeys(words):
        pieces = bpe(list(w[:-1]) + [w[-1] + "</w>"], ranks)
        cur = pieces[0]
        for nxt in pieces[1:]:
            ranks[(cur, nxt)] = len(merges)
            merges.append(f"{cur} {nxt}")
            cur += nxt
            if cur not in seen:
                vocab.append(cur)
                seen.add(cur)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length)
    split = [w for w in dict.fromkeys(words) if len(tok.encode(w, add_special_tokens=False)) != 1]
    if split:
        raise GenmixError(f"pretrain-t2i: tokenizer could not make {split[:5]} single tokens")
    return tok
