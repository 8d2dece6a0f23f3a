"""Spec files: one TOML file describes one configuration to check.

A spec says how many CPUs there are, which kmem_caches exist at boot, what each
writer does (a script of ``create`` / ``tune`` operations), the IPI condition
of ``__do_tune_cpucache()``, the order of every actor's steps (the kernel's by
default), and what verdict is expected. Specs are data: nothing in them is
executed. Every problem is reported as one `SpecError` naming the file, the
key and what would have been valid.

The keys are documented in docs/specs.md.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slabproof import model
from slabproof.lang import propexpr

IPI_CONDITIONS = ("always", "if-prev", "never", "if-no-prev")
VERDICTS = ("safe", "violated")
MAX_CPUS = 8
MAX_CACHES = 8  # kmem_caches declared in one spec
MAX_OPS = 16  # create/tune operations over all writers' scripts
MAX_STEPS = 64  # steps in one [steps] section (the longest shipped order has 10)
MAX_SPEC_BYTES = 1 << 20  # a spec file's size, checked before it is read
MAX_SHOWN = 200  # characters of one value (a path, a key, a step name) echoed in a message

# Protocol knobs: each changes one rule of the model (for the mutants in specs/mutants/).
# The first value is the default, which is what the kernel does.
KNOBS: dict[str, tuple[Any, ...]] = {
    "ipi_to": ("others", "all", "self", "none"),  # whom smp_call_function() interrupts
    "ipi_waits_for_irqs_on": (True, False),  # a CPU runs the IPI handler only while its IRQs are on
    "ipi_only_with_irqs_off": (False, True),  # what-if: the IPI handler runs only while the CPU's IRQs are off
    "writer_waits_for_idle_cpu": (True, False),  # the writer steps only while its CPU is outside a reader section
}

MEMORY_MODELS = ("sc", "tso", "relaxed")  # docs/memory.md

TOP_KEYS = ("description", "cpus", "ipi", "memory", "reapers", "cache", "writer", "steps", "property", "expect") + tuple(KNOBS)
CACHE_KEYS = ("name", "boot", "memcg")
WRITER_KEYS = ("cpu", "script", "migrate")
STEPS_KEYS = ("reader", "reaper", "create", "tune")
EXPECT_KEYS = ("verdict", "violates", "witnesses")
PROPERTY_KEYS = ("name", "kind", "expr", "doc")
PROPERTY_KINDS = ("always", "sometimes")
MAX_PROPERTIES = 32  # [[property]] tables in one spec
MAX_PROPERTY_DOC = 500  # characters of a property's doc


class SpecError(Exception):
    """A spec file that cannot be used: unreadable, not TOML, or not a valid configuration.

    Likely causes: a typo in a key or a step name, a value of the wrong type,
    or a configuration the model cannot represent (0 CPUs, a tune of a cache
    that is never created, a step order without the publish). The message is
    one line: ``FILE[:LINE]: KEY: what is wrong; valid: ...``.
    """

    def __init__(self, path: str, key: str, message: str, line: int | None = None):
        self.path = path
        self.key = key
        self.message = message
        self.line = line
        where = shown(path)
        where = f"{where}:{line}" if line else where
        msg = shown(message, 4 * MAX_SHOWN)
        super().__init__(f"{where}: {shown(key)}: {msg}" if key else f"{where}: {msg}")


def _one_line(text: str) -> str:
    """`text` with every character that is not printable (newlines, NUL, ESC, lone surrogates) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` as a message may echo it: control characters escaped (no ANSI sequence reaches a terminal),
    and, past `limit` characters, its start and end with the number of characters left out."""
    t = _one_line(text)
    if len(t) <= limit:
        return t
    keep = max(limit // 2 - 10, 1)
    return f"{t[:keep]}...[{len(t) - 2 * keep:,} characters]...{t[-keep:]}"


@dataclass(frozen=True)
class CacheSpec:
    name: str
    boot: bool = False
    memcg: bool = False


@dataclass(frozen=True)
class OpSpec:
    kind: str  # "create" | "tune"
    cache: str

    def __str__(self) -> str:
        return f"{self.kind} {self.cache}"


@dataclass(frozen=True)
class WriterSpec:
    cpu: int
    script: tuple[OpSpec, ...]
    migrate: tuple[int, ...] = ()  # other CPUs the writer's task may be moved to between two steps

    @property
    def cpus(self) -> tuple[int, ...]:
        """Every CPU this writer may run on (its own first)."""
        return (self.cpu,) + tuple(c for c in self.migrate if c != self.cpu)


@dataclass(frozen=True)
class PropertySpec:
    """A user-written property (a ``[[property]]`` table); `propexpr` translates `expr` against the model."""

    name: str
    kind: str  # "always" | "sometimes"
    expr: str
    doc: str = ""


@dataclass(frozen=True)
class Expect:
    verdict: str
    violates: tuple[str, ...] | None = None  # None: any non-empty set, when violated
    witnesses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    path: str
    name: str
    description: str
    cpus: int
    ipi: str
    reapers: bool
    caches: tuple[CacheSpec, ...]
    writers: tuple[WriterSpec, ...]
    reader_steps: tuple[str, ...]
    reaper_steps: tuple[str, ...]
    create_steps: tuple[str, ...]
    tune_steps: tuple[str, ...]
    expect: Expect
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    ipi_to: str = "others"
    ipi_waits_for_irqs_on: bool = True
    ipi_only_with_irqs_off: bool = False
    writer_waits_for_idle_cpu: bool = True
    properties: tuple[PropertySpec, ...] = ()  # the spec's own [[property]] tables, in file order
    memory: str = "sc"  # "sc" | "tso" | "relaxed" (docs/memory.md)

    def with_cpus(self, n: int) -> "Spec":
        """The same configuration with `n` CPUs (validated like the file's own value)."""
        _check_cpus(self.path, n, self.writers, "--cpus", None)
        return _replace(self, cpus=n)

    def with_memory(self, mode: str) -> "Spec":
        """The same configuration under memory model `mode` (``--memory``)."""
        if mode not in MEMORY_MODELS:
            raise SpecError("--memory", "", f"unknown memory model {mode!r}; valid: {_choices(MEMORY_MODELS)}")
        return _replace(self, memory=mode)


def _replace(spec: Spec, **kw: Any) -> Spec:
    from dataclasses import replace

    return replace(spec, **kw)


def _line_of(text: str, key: str) -> int | None:
    """Best-effort line number of `key = ...` or `[key]` in the file."""
    leaf = key.split(".")[-1].split("[")[0]
    pat = re.compile(rf"^\s*(\[\[?\s*{re.escape(leaf)}\s*\]\]?|{re.escape(leaf)}\s*=)", re.M)
    m = pat.search(text)
    if not m:
        return None
    return text.count("\n", 0, m.start()) + 1


def _table_line(text: str, table: str, i: int, key: str) -> int | None:
    """Best-effort line of `key = ...` inside the `i`-th ``[[table]]`` (else of that table's header)."""
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{re.escape(table)}[ \t]*\]\]", re.M)
    starts = [m.start() for m in header.finditer(text)]
    if i >= len(starts):
        return None
    end = len(text)
    nxt = re.compile(r"^[ \t]*\[", re.M).search(text, text.index("]]", starts[i]))
    if nxt:
        end = nxt.start()
    m = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.M).search(text, starts[i], end) if key else None
    at = m.start() if m else starts[i]
    return text.count("\n", 0, at) + 1


def _choices(xs: Any) -> str:
    return ", ".join(str(x) for x in xs)


class _Reader:
    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text

    def fail(self, key: str, message: str) -> SpecError:
        m = re.fullmatch(r"property\[(\d+)\](?:\.(\w+))?", key)
        if m:
            return SpecError(self.path, key, message, _table_line(self.text, "property", int(m.group(1)),
                                                                  m.group(2) or ""))
        return SpecError(self.path, key, message, _line_of(self.text, key) if key else None)

    def keys(self, table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for k in table:
            if k not in allowed:
                shown = k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else '"' + k.encode("unicode_escape").decode() + '"'
                key = f"{where}.{shown}" if where else shown
                raise self.fail(key, f"unknown key; valid: {_choices(allowed)}")

    def typed(self, table: dict[str, Any], key: str, typ: type, where: str, default: Any = ...) -> Any:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if default is ...:
                raise self.fail(full, "missing")
            return default
        v = table[key]
        if typ is int and isinstance(v, bool):
            raise self.fail(full, f"expected an integer, got {v!r}")
        if not isinstance(v, typ):
            raise self.fail(full, f"expected {typ.__name__}, got {type(v).__name__} {v!r}")
        return v

    def steps(self, table: dict[str, Any], key: str, default: tuple[str, ...], valid: tuple[str, ...]) -> tuple[str, ...]:
        full = f"steps.{key}"
        v = table.get(key, list(default))
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(full, "expected a list of step names")
        if len(v) > MAX_STEPS:
            raise self.fail(full, f"{len(v):,} steps; valid: at most {MAX_STEPS} per section")
        for name in v:
            if name not in valid:
                raise self.fail(full, f"unknown step {name!r}; valid: {_choices(valid)}")
        for name in dict.fromkeys(v):
            if v.count(name) > 1 and name not in model.REPEATABLE_STEPS:
                raise self.fail(full, f"step {name!r} appears {v.count(name)} times; only "
                                      f"{_choices(model.REPEATABLE_STEPS)} may repeat")
        return tuple(v)


def _check_cpus(path: str, n: int, writers: tuple[WriterSpec, ...], key: str, line: int | None) -> None:
    if n < 1 or n > MAX_CPUS:
        raise SpecError(path, key, f"{n} CPUs is impossible here; valid: 1 to {MAX_CPUS}", line)
    for i, w in enumerate(writers):
        if w.cpu >= n:
            raise SpecError(path, key, f"writer[{i}] runs on CPU {w.cpu}, but there are only {n} CPUs "
                                       f"(CPUs are numbered 0 to {n - 1})", line)
        for c in w.migrate:
            if c >= n:
                raise SpecError(path, key, f"writer[{i}] may migrate to CPU {c}, but there are only {n} CPUs "
                                           f"(CPUs are numbered 0 to {n - 1})", line)


def load(path: str | Path) -> Spec:
    """Read and validate one spec file; raise `SpecError` on any problem.

    Only a regular file of at most `MAX_SPEC_BYTES` is read: the path is
    looked at (``stat``) before anything is opened, so a FIFO, a device such
    as /dev/zero, a socket or a directory is refused without reading from it,
    and the file is opened non-blocking and checked again once open. The
    spec's `path` is the name as given, with control characters and bytes
    that are not UTF-8 escaped (it is what tables, JSON, JUnit and HTML show).
    """
    spath = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    if spath == "":
        raise SpecError("''", "", "an empty path names no spec file")
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(spath, "", "is a directory, not a spec file")
        _check_regular(spath, st)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        try:
            _check_regular(spath, os.fstat(fd))  # (the path may have changed since the stat)
            with os.fdopen(fd, "rb") as f:
                fd = -1
                raw_bytes = f.read(MAX_SPEC_BYTES + 1)
        finally:
            if fd >= 0:
                os.close(fd)
    except OSError as e:
        raise SpecError(spath, "", _os_problem(e)) from None
    except ValueError:  # a NUL byte, or a character the file system cannot encode
        raise SpecError(spath, "", "cannot read: not a valid file name") from None
    if len(raw_bytes) > MAX_SPEC_BYTES:
        raise SpecError(spath, "", f"more than {MAX_SPEC_BYTES:,} bytes; a spec file may hold at most 1 MiB")
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(spath, "", f"not UTF-8 text (byte {e.start})") from None
    return loads(text, _one_line(spath))


def _check_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        what = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a file")
        raise SpecError(path, "", f"is {what}, not a regular file; a spec must be a regular file")
    if st.st_size > MAX_SPEC_BYTES:
        raise SpecError(path, "", f"is {st.st_size:,} bytes; a spec file may hold at most {MAX_SPEC_BYTES:,} "
                                  f"bytes (1 MiB)")


def _os_problem(e: OSError) -> str:
    """What an `OSError` on a spec path means, in words (never the path again: the message names it)."""
    if e.errno == errno.ENOENT:
        return "no such file"
    if e.errno == errno.EACCES or isinstance(e, PermissionError):
        return "cannot read: permission denied (the file, or a directory on its path, is not accessible)"
    if e.errno == errno.ENAMETOOLONG:
        return "cannot read: a file name on this path is too long (at most 255 bytes per name)"
    if e.errno == errno.ENOTDIR:
        return "no such file (a part of the path is not a directory)"
    if e.errno == errno.ELOOP:
        return "cannot read: too many symbolic links"
    return f"cannot read: {e.strerror or type(e).__name__}"


def loads(text: str, path: str = "<spec>") -> Spec:
    """Validate spec text (see `load`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"line (\d+)", msg)
        raise SpecError(path, "", f"TOML syntax error: {msg}", int(m.group(1)) if m else None) from None
    except (RecursionError, ValueError) as e:  # pathological nesting and the like
        raise SpecError(path, "", f"TOML cannot be read: {type(e).__name__}") from None
    r = _Reader(path, text)
    r.keys(data, TOP_KEYS, "")

    description = r.typed(data, "description", str, "", "")
    cpus = r.typed(data, "cpus", int, "")
    ipi = r.typed(data, "ipi", str, "", "if-prev")
    if ipi not in IPI_CONDITIONS:
        raise r.fail("ipi", f"unknown IPI condition {ipi!r}; valid: {_choices(IPI_CONDITIONS)}")
    reapers = r.typed(data, "reapers", bool, "", False)
    memory = r.typed(data, "memory", str, "", "sc")
    if memory not in MEMORY_MODELS:
        raise r.fail("memory", f"unknown memory model {memory!r}; valid: {_choices(MEMORY_MODELS)}")
    knobs: dict[str, Any] = {}
    for knob, valid in KNOBS.items():
        v = r.typed(data, knob, type(valid[0]), "", valid[0])
        if v not in valid:
            raise r.fail(knob, f"unknown value {v!r}; valid: {_choices(valid)}")
        knobs[knob] = v

    caches_raw = r.typed(data, "cache", list, "")
    if not caches_raw:
        raise r.fail("cache", "at least one [[cache]] is needed")
    if len(caches_raw) > MAX_CACHES:
        raise r.fail("cache", f"{len(caches_raw)} caches; valid: 1 to {MAX_CACHES}")
    caches: list[CacheSpec] = []
    for i, c in enumerate(caches_raw):
        where = f"cache[{i}]"
        if not isinstance(c, dict):
            raise r.fail("cache", f"{where} must be a table ([[cache]])")
        r.keys(c, CACHE_KEYS, where)
        name = r.typed(c, "name", str, where)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,31}", name):
            raise r.fail(f"{where}.name", f"{name!r} is not a cache name (letters, digits, _ and -)")
        if any(x.name == name for x in caches):
            raise r.fail(f"{where}.name", f"cache {name!r} is declared twice")
        caches.append(CacheSpec(name, r.typed(c, "boot", bool, where, False), r.typed(c, "memcg", bool, where, False)))
    names = [c.name for c in caches]

    writers_raw = r.typed(data, "writer", list, "")
    if not writers_raw:
        raise r.fail("writer", "at least one [[writer]] is needed")
    if len(writers_raw) > model.MAX_WRITERS:
        raise r.fail("writer", f"{len(writers_raw)} writers; valid: 1 to {model.MAX_WRITERS}")
    writers: list[WriterSpec] = []
    created = {c.name for c in caches if c.boot}
    for i, w in enumerate(writers_raw):
        where = f"writer[{i}]"
        if not isinstance(w, dict):
            raise r.fail("writer", f"{where} must be a table ([[writer]])")
        r.keys(w, WRITER_KEYS, where)
        cpu = r.typed(w, "cpu", int, where, 0)
        if cpu < 0:
            raise r.fail(f"{where}.cpu", f"CPU {cpu} is impossible; CPUs are numbered from 0")
        if any(x.cpu == cpu for x in writers):
            raise r.fail(f"{where}.cpu", f"two writers on CPU {cpu}; give each writer its own CPU")
        migrate_raw = r.typed(w, "migrate", list, where, [])
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in migrate_raw):
            raise r.fail(f"{where}.migrate", f"expected a list of CPU numbers (0, 1, ...), got {migrate_raw!r}")
        script_raw = r.typed(w, "script", list, where)
        if sum(len(x.get("script", [])) for x in writers_raw if isinstance(x, dict)
               and isinstance(x.get("script"), list)) > MAX_OPS:
            raise r.fail(f"{where}.script", f"more than {MAX_OPS} operations over all writers; valid: 0 to {MAX_OPS}")
        ops: list[OpSpec] = []
        for j, s in enumerate(script_raw):
            key = f"{where}.script"
            if not isinstance(s, str) or len(s.split()) != 2 or s.split()[0] not in ("create", "tune"):
                raise r.fail(key, f"entry {j} is {s!r}; valid: \"create NAME\" or \"tune NAME\"")
            kind, cname = s.split()
            if cname not in names:
                raise r.fail(key, f"entry {j} names cache {cname!r}, which is not declared; valid: {_choices(names)}")
            ops.append(OpSpec(kind, cname))
        writers.append(WriterSpec(cpu, tuple(ops), tuple(dict.fromkeys(migrate_raw))))
    # creates and tunes must make sense in script order (writer 0's script, then writer 1's)
    for i, w in enumerate(writers):
        for j, op in enumerate(w.script):
            key = f"writer[{i}].script"
            if op.kind == "create":
                if op.cache in created:
                    raise r.fail(key, f"entry {j} creates {op.cache!r}, which already exists "
                                      f"({'at boot' if op.cache in {c.name for c in caches if c.boot} else 'created earlier'})")
                created.add(op.cache)
    for i, w in enumerate(writers):
        for j, op in enumerate(w.script):
            if op.kind == "tune" and op.cache not in created:
                raise r.fail(f"writer[{i}].script", f"entry {j} tunes {op.cache!r}, which is never created "
                                                    f"(declare it with boot = true or create it first)")
    for i, w in enumerate(writers):
        seen = {c.name for c in caches if c.boot}
        for j, op in enumerate(w.script):
            if op.kind == "create":
                seen.add(op.cache)
            elif op.cache not in seen and len(writers) == 1:
                raise r.fail(f"writer[{i}].script", f"entry {j} tunes {op.cache!r} before it is created")
    line = _line_of(text, "cpus")
    _check_cpus(path, cpus, tuple(writers), "cpus", line)

    steps = r.typed(data, "steps", dict, "", {})
    r.keys(steps, STEPS_KEYS, "steps")
    reader_steps = r.steps(steps, "reader", model.DEFAULT_READER, model.READER_STEPS)
    reaper_steps = r.steps(steps, "reaper", model.DEFAULT_REAPER, model.REAPER_STEPS)
    create_steps = r.steps(steps, "create", model.DEFAULT_CREATE, model.WRITER_STEPS)
    tune_steps = r.steps(steps, "tune", model.DEFAULT_TUNE, model.WRITER_STEPS)
    for key, order, required in (
        ("steps.reader", reader_steps, model.REQUIRED_READER),
        ("steps.reaper", reaper_steps, model.REQUIRED_REAPER),
        ("steps.create", create_steps, model.REQUIRED_CREATE),
        ("steps.tune", tune_steps, model.REQUIRED_TUNE),
    ):
        missing = [s for s in required if s not in order]
        if missing:
            raise r.fail(key, f"the order has no {_choices(missing)}; it must contain {_choices(required)}")
    if "publish_cache" in tune_steps:
        raise r.fail("steps.tune", "publish_cache makes a new kmem_cache visible; it belongs in steps.create only")

    user_props = _properties(r, data)

    expect_raw = r.typed(data, "expect", dict, "")
    r.keys(expect_raw, EXPECT_KEYS, "expect")
    verdict = r.typed(expect_raw, "verdict", str, "expect")
    if verdict not in VERDICTS:
        raise r.fail("expect.verdict", f"unknown verdict {verdict!r}; valid: {_choices(VERDICTS)}")
    violates = expect_raw.get("violates")
    prop_names = model.ALWAYS_PROPERTIES + tuple(p.name for p in user_props if p.kind == "always")
    witness_names = model.SOMETIMES_PROPERTIES + tuple(p.name for p in user_props if p.kind == "sometimes")
    if violates is not None:
        if not isinstance(violates, list) or not all(isinstance(x, str) for x in violates):
            raise r.fail("expect.violates", "expected a list of property names")
        for x in violates:
            if x in witness_names:
                raise r.fail("expect.violates", f"{x!r} is a 'sometimes' property: it is witnessed, not violated "
                                                "(list it in expect.witnesses)")
            if x not in prop_names:
                raise r.fail("expect.violates", f"unknown property {_short(x)!r}; valid: {_choices(prop_names)}")
        if verdict == "safe" and violates:
            raise r.fail("expect.violates", "a safe verdict violates nothing; remove the list or expect \"violated\"")
        if verdict == "violated" and not violates:
            raise r.fail("expect.violates", "a violated verdict needs at least one property")
        violates = tuple(violates)
    witnesses = expect_raw.get("witnesses", [])
    if not isinstance(witnesses, list) or not all(isinstance(x, str) for x in witnesses):
        raise r.fail("expect.witnesses", "expected a list of property names")
    for x in witnesses:
        if x in prop_names:
            raise r.fail("expect.witnesses", f"{x!r} is an 'always' property: it holds or is violated, it has no "
                                             "witness (list it in expect.violates)")
        if x not in witness_names:
            raise r.fail("expect.witnesses", f"unknown property {_short(x)!r}; valid: {_choices(witness_names)}")

    spec = Spec(
        path=path,
        name=Path(path).stem,
        description=description,
        cpus=cpus,
        ipi=ipi,
        reapers=reapers,
        caches=tuple(caches),
        writers=tuple(writers),
        reader_steps=reader_steps,
        reaper_steps=reaper_steps,
        create_steps=create_steps,
        tune_steps=tune_steps,
        expect=Expect(verdict, violates, tuple(witnesses)),
        raw=data,
        **knobs,
        memory=memory,
    )
    if user_props:
        _check_property_exprs(r, spec, user_props)
        spec = _replace(spec, properties=tuple(user_props))
    return spec


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _properties(r: _Reader, data: dict[str, Any]) -> list[PropertySpec]:
    """The ``[[property]]`` tables: keys, names, kinds and the expressions' syntax (names are checked
    against the model by `_check_property_exprs`)."""
    raw = data.get("property", [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise r.fail("property", "must be an array of tables ([[property]], one per property)")
    if len(raw) > MAX_PROPERTIES:
        raise r.fail("property", f"{len(raw)} properties; valid: 0 to {MAX_PROPERTIES}")
    builtin = model.ALWAYS_PROPERTIES + model.SOMETIMES_PROPERTIES
    out: list[PropertySpec] = []
    for i, t in enumerate(raw):
        where = f"property[{i}]"
        r.keys(t, PROPERTY_KEYS, where)
        name = r.typed(t, "name", str, where)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
            raise r.fail(f"{where}.name", f"{_short(name)!r} is not a property name (a letter or _, then letters, "
                                          "digits and _, at most 64)")
        if name in builtin:
            raise r.fail(f"{where}.name", f"{name!r} is a built-in property; choose another name "
                                          f"(built-in: {_choices(builtin)})")
        if any(p.name == name for p in out):
            raise r.fail(f"{where}.name", f"property {name!r} is declared twice")
        kind = r.typed(t, "kind", str, where)
        if kind not in PROPERTY_KINDS:
            raise r.fail(f"{where}.kind", f"unknown kind {_short(kind)!r}; valid: {_choices(PROPERTY_KINDS)}")
        text = r.typed(t, "expr", str, where)
        doc = r.typed(t, "doc", str, where, "")
        if len(doc) > MAX_PROPERTY_DOC:
            raise r.fail(f"{where}.doc", f"{len(doc)} characters; at most {MAX_PROPERTY_DOC}")
        if not doc.isprintable():
            raise r.fail(f"{where}.doc", "must be one line of printable text")
        if not all(c.isprintable() or c in " \t\r\n" for c in text):
            raise r.fail(f"{where}.expr", "holds a control character")
        try:
            propexpr.parse(text)
        except propexpr.PropertyError as e:
            raise r.fail(f"{where}.expr", str(e)) from None
        out.append(PropertySpec(name, kind, text, doc))
    return out


def _check_property_exprs(r: _Reader, spec: Spec, props: list[PropertySpec]) -> None:
    """Translate every user property against the spec's model: unknown names and wrong types fail here."""
    system = model.build(spec)  # (spec has no user properties yet)
    for i, p in enumerate(props):
        try:
            propexpr.compile_property(p.expr, system)
        except propexpr.PropertyError as e:
            raise r.fail(f"property[{i}].expr", str(e)) from None
