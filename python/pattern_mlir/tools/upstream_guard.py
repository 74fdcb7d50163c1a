"""Inputs that abort upstream MLIR instead of failing with a diagnostic.

`pattern-opt` runs the MLIR 22 wheels as they are built, with assertions on. A few
malformed inputs trip an assertion in upstream MLIR's parser or verifiers before any
pattern-mlir code runs (scripts/fuzz_mlir.py found them; docs/fuzz.md lists them). Each
check here recognises one such input in the text and reports it as an `error:` at its
line, so that `pattern-opt` fails cleanly on it instead of aborting. The checks look for
exactly what aborts: everything else is left to the parser and the verifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_INT64_MAX = 2**63 - 1
_STRING_OR_COMMENT = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|(//[^\n]*)')
_LITERAL = re.compile(r"(?<![\w.])(?:dense|dense_resource|sparse)<")
_ANGLE = re.compile(r"[<>]")
_TYPED = re.compile(r"\s*:\s*(tensor|memref|vector)<((?:(?:\d+|\[\d+\])x)+)(?=[a-z!])")
_DIMS_KEYWORD = re.compile(r"(?<![\w.])(dimensions|permutation)\s*=\s*")
_INT_LIST = re.compile(r"\[\s*(-?\d+\s*(?:,\s*-?\d+\s*)*)?\]")
_BROADCAST = re.compile(r"linalg\.broadcast\b[^\n]*?dimensions\s*=\s*(?:\[|array<i64:)([-\d,\s]*)")
_DENSE_ARRAY = re.compile(r"(?<![\w.!#])array<\s*([^\s:>]+)")
_INT_OR_FLOAT = re.compile(r"[su]?i\d+|f\d+\w*|bf16|tf32")
_MEMOIZED = re.compile(r"(?<![\w.])linalg\.memoized_indexing_maps\s*=\s*\[")
_GENERIC_LINALG = re.compile(r'"linalg\.(?!yield"|index")\w+"\(([^)]*)\)')
_REASSOCIATION = re.compile(
    r"(?<![\w.])reassociation\s*=\s*\[|(?<=tensor\.|memref\.)(?:expand|collapse)"
    r"_shape\s+%[\w.$#-]+\s*\["
)
_CONV_STEPS = re.compile(
    r"(?<![\w.])(strides|dilations)\s*=\s*(?:dense<|array<i64:|\[)([^>\]]*(?:\][^>]*)?)"
)
_PAD_AMOUNTS = re.compile(r"(?<![\w.])(low|high)\s*\[([^\]]*)\]")
_INDEXING_MAPS = re.compile(r"(?<![\w.])indexing_maps\s*=\s*\[")
_CONTRACTION_OP = re.compile(r"linalg\.(?:\w*matmul\w*|contract)\b")
_ITERATORS = re.compile(r"(?<![\w.])iterator_types\s*=\s*\[([^\]]*)\]")
_ITERATOR = re.compile(r'\s*(?:"[^"]*"|#\w+\.iterator_type<\w+>)\s*')


def _scan(text: str, pattern: re.Pattern, *keywords: str) -> Iterator[re.Match]:
    """Matches of `pattern` where one of the literal `keywords` it starts with occurs: a
    substring search, much faster over megabytes of constants than a regex scan."""
    for keyword in keywords:
        start = text.find(keyword)
        while start >= 0:
            match = pattern.match(text, start)
            if match:
                yield match
            start = text.find(keyword, start + 1)


def _literal_types(text: str) -> Iterator[re.Match]:
    """The shaped types of `dense<...> : type`, `dense_resource<...> : type` and
    `sparse<...> : type` literals."""
    for match in _scan(text, _LITERAL, "dense<", "dense_resource<", "sparse<"):
        depth, end = 1, len(text)
        for angle in _ANGLE.finditer(text, match.end()):  # hex data holds no angle brackets
            depth += 1 if angle.group() == "<" else -1
            if depth == 0:
                end = angle.end()
                break
        typed = _TYPED.match(text, end)
        if typed:
            yield typed


def _element_count_overflow(text: str) -> Iterator[tuple[int, str]]:
    """ShapedType::getNumElements asserts when a dense literal's type has static dims whose
    product overflows int64 (other uses of such a type are harmless)."""
    for match in _literal_types(text):
        dims = [int(d) for d in re.findall(r"\d+", match.group(2))]
        count = 1
        for dim in dims:
            count *= dim
        if count > _INT64_MAX and max(dims) <= _INT64_MAX:
            yield (
                match.start(1),
                f"{match.group(1)} type of a constant with more than 2^63 - 1 elements",
            )


def _unterminated_metadata(text: str) -> Iterator[tuple[int, str]]:
    """The parser of the `{-# ... #-}` file metadata asserts ("shouldn't advance past EOF")
    when the file ends inside it."""
    start = text.find("{-#")
    if start >= 0 and text.find("#-}", start) < 0:
        yield start, "file metadata '{-#' is not closed by '#-}'"


def _malformed_dims_list(text: str) -> Iterator[tuple[int, str]]:
    """The custom parsers of linalg.broadcast, linalg.transpose and linalg.reduce store
    whatever parsing `dimensions = [...]` / `permutation = [...]` returned, a null attribute
    when it is not a list of integers ("attributes may never be null")."""
    for match in _scan(text, _DIMS_KEYWORD, "dimensions", "permutation"):
        if text.startswith(("array<", "dense<", "#"), match.end()):
            continue
        listed = _INT_LIST.match(text, match.end())
        if listed is None or any(
            not -_INT64_MAX - 1 <= int(v) <= _INT64_MAX
            for v in re.findall(r"-?\d+", listed.group())
        ):
            yield match.start(), f"{match.group(1)} is not a list of 64-bit integers"


def _repeated_broadcast_dims(text: str) -> Iterator[tuple[int, str]]:
    """linalg.broadcast's verifier indexes out of bounds when `dimensions` repeats one."""
    for match in _scan(text, _BROADCAST, "linalg.broadcast"):
        dims = [d for d in re.split(r"[,\s]+", match.group(1).strip()) if d]
        if len(set(dims)) != len(dims):
            yield (
                match.start(),
                f"linalg.broadcast dimensions [{', '.join(dims)}] repeat a dimension",
            )


def _dense_array_element_type(text: str) -> Iterator[tuple[int, str]]:
    """The parser of `array<type: ...>` asks any element type for its bit width, which
    asserts for types other than integers and floats (`index`, tensors, ...)."""
    for match in _scan(text, _DENSE_ARRAY, "array<"):
        if not _INT_OR_FLOAT.fullmatch(match.group(1)):
            yield (
                match.start(),
                f"array<> of element type {match.group(1)!r}, not an integer or float",
            )


def _top_level_items(text: str, start: int) -> list[str]:
    """The comma-separated items of the list whose '[' ends at `start`, commas inside
    (), [], <> and {} kept."""
    items, depth, item = [], 0, []
    for i in range(start, len(text)):
        char = text[i]
        if depth == 0 and char in ",]":
            items.append("".join(item).strip())
            item = []
            if char == "]":
                break
            continue
        arrow = char == ">" and text[i - 1] == "-"  # `->` of an affine map closes nothing
        depth += (char in "([<{") - (char in ")]>}" and not arrow)
        item.append(char)
    return [i for i in items if i]


def _memoized_indexing_maps(text: str) -> Iterator[tuple[int, str]]:
    """Linalg named ops take their indexing maps from `linalg.memoized_indexing_maps` when
    it is present, and index or cast its entries unchecked: fewer maps than operands, or an
    entry that is not a map, abort."""
    for match in _scan(text, _MEMOIZED, "linalg.memoized_indexing_maps"):
        items = _top_level_items(text, match.end())
        if not items or any(not item.startswith(("#", "affine_map<")) for item in items):
            yield match.start(), "linalg.memoized_indexing_maps is not a list of affine maps"
            continue
        op = None
        for op in _GENERIC_LINALG.finditer(text, 0, match.start()):  # noqa: B007  (keeps the last)
            pass
        operands = op.group(1).count("%") if op is not None else 0
        if len(items) < operands:
            yield (
                match.start(),
                (f"linalg.memoized_indexing_maps holds {len(items)} maps for {operands} operands"),
            )


def _empty_reassociation_group(text: str) -> Iterator[tuple[int, str]]:
    """expand_shape's verifier builds an affine map from each reassociation group, which
    asserts for an empty group."""
    for match in _scan(text, _REASSOCIATION, "reassociation", "expand_shape", "collapse_shape"):
        if any(re.fullmatch(r"\[\s*\]", item) for item in _top_level_items(text, match.end())):
            yield match.start(), "a reassociation group is empty"


def _huge_conv_steps(text: str) -> Iterator[tuple[int, str]]:
    """Linalg convolutions fold `stride * i + dilation * k` in their indexing maps; values
    near 2^63 overflow the folding, and the verifier casts the unfolded result to a
    constant. No convolution has a stride or dilation of 2^31 or more."""
    for match in _scan(text, _CONV_STEPS, "strides", "dilations"):
        huge = [v for v in re.findall(r"-?\d+", match.group(2)) if abs(int(v)) >= 2**31]
        if huge:
            yield match.start(), f"{match.group(1)} value {huge[0]} is not below 2^31"


def _huge_pad_amounts(text: str) -> Iterator[tuple[int, str]]:
    """tensor.pad's parser infers its result type as source + low + high; amounts near
    2^63 overflow it into a negative size, and RankedTensorType::get asserts. No pad is
    2^31 or more wide."""
    for match in _scan(text, _PAD_AMOUNTS, "low", "high"):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if "pad" not in text[line_start : match.start()]:
            continue
        huge = [v for v in re.findall(r"(?<![%\w])-?\d+", match.group(2)) if abs(int(v)) >= 2**31]
        if huge:
            yield match.start(), f"{match.group(1)} padding {huge[0]} is not below 2^31"


def _contraction_map_count(text: str) -> Iterator[tuple[int, str]]:
    """The matmul family's verifier (verifyExtendedMatmulSemantic) indexes the explicit
    `indexing_maps` as A, B and C unchecked: any other number of maps aborts."""
    for match in _scan(text, _INDEXING_MAPS, "indexing_maps"):
        line_start = text.rfind("\n", 0, match.start()) + 1
        op = _CONTRACTION_OP.search(text, line_start, match.start())
        if op is None:
            continue
        count = len(_top_level_items(text, match.end()))
        if count != 3:
            yield match.start(), f"{op.group()} has {count} indexing maps, not 3"


def _non_string_iterator_types(text: str) -> Iterator[tuple[int, str]]:
    """linalg.generic's parser casts every `iterator_types` entry to a string."""
    for match in _scan(text, _ITERATORS, "iterator_types"):
        entries = match.group(1).split(",") if match.group(1).strip() else []
        bad = next((e.strip() for e in entries if not _ITERATOR.fullmatch(e)), None)
        if bad is not None:
            yield match.start(), f"iterator_types entry {bad!r} is not a string"


_CHECKS = (
    _element_count_overflow,
    _unterminated_metadata,
    _malformed_dims_list,
    _repeated_broadcast_dims,
    _dense_array_element_type,
    _memoized_indexing_maps,
    _empty_reassociation_group,
    _huge_conv_steps,
    _huge_pad_amounts,
    _contraction_map_count,
    _non_string_iterator_types,
)


def _blank(match: re.Match) -> str:
    """A comment as spaces, a long string (hex data) as a quoted blank, others as they are
    (op names and iterator types are strings)."""
    if match.group(1) is not None:
        return " " * len(match.group())
    return match.group() if len(match.group()) <= 256 else f'"{" " * (len(match.group()) - 2)}"'


def upstream_hazards(text: str | bytes, path: str = "-") -> list[str]:
    """`path:line:col: error: ...` for every input in `text` known to abort upstream MLIR."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    # Comments and long strings are blanked out, offsets kept: lit tests hold IR in their
    # CHECK lines, and no hazard hides in hex data.
    text = _STRING_OR_COMMENT.sub(_blank, text)
    errors = []
    for check in _CHECKS:
        for offset, message in check(text):
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            errors.append(f"{path}:{line}:{column}: error: {message} (upstream MLIR aborts on it)")
    return errors
