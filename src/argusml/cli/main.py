"""The `argus` command.

Exit codes are a contract (README.md): 0 a report was written (whatever it
found), 1 `argus check` found a P0/P1 problem, 2 no report could be made
(unreadable input, a named column that does not exist, a bad config) or
the command line itself is wrong (an unknown option, a missing value). A
traceback or a usage box is never the answer: errors print one line naming
the command and the problem.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperGroup

from argusml.cli.backfill import backfill_cmd
from argusml.cli.decisions import advise_cmd, compare_cmd
from argusml.cli.digest import digest_cmd
from argusml.cli.export import export_app
from argusml.cli.gameday import gameday_cmd
from argusml.cli.incidents import incidents_app, silences_app
from argusml.cli.references import reference_app
from argusml.cli.remote import TokenOpt, UrlOpt, fail, get_json, write_output
from argusml.cli.review import labels_app, sample_cmd
from argusml.schema import ArgusError, ConfigError, InputError, Kind

# Recent typer parses with its own copy of click (`typer._click`), older typer with click itself: take the
# exception classes from wherever typer's public BadParameter lives, never from `import click`.
_parse_errors = sys.modules[typer.BadParameter.__module__]
UsageError: type[Exception] = _parse_errors.UsageError
NoSuchOption: type[Exception] = _parse_errors.NoSuchOption
NoArgsIsHelpError: type[Exception] | tuple[()] = getattr(_parse_errors, "NoArgsIsHelpError", ())


def usage_error_line(exc: Exception) -> str:
    """One line naming the command and the problem, e.g. `argus check: no such option: --formt (did you mean --format?)`.

    Click's message names the problem but not the command (the usage line
    above it did, and that is gone); the root's name is whatever started
    the process (`python -m ...`, a test runner), so it is spelled `argus`.
    """
    names: list[str] = []
    ctx = _context_of(exc)
    while ctx is not None and ctx.parent is not None:
        if ctx.info_name:
            names.append(ctx.info_name)
        ctx = ctx.parent
    where = " ".join(["argus", *reversed(names)])
    if isinstance(exc, NoSuchOption):
        problem = f"no such option: {getattr(exc, 'option_name', '?')}"
        close = list(getattr(exc, "possibilities", None) or [])
        if close:
            problem += f" (did you mean {' or '.join(close)}?)"
    else:
        problem = getattr(exc, "format_message", exc.__str__)()
        problem = re.sub(r"\.?\s*Did you mean (.+?)\??\s*$", r" (did you mean \1?)", problem.strip()).rstrip(".")
        if problem[1:2].islower():
            problem = problem[0].lower() + problem[1:]
    return " ".join(f"{where}: {problem}".split())


def _context_of(exc: Exception) -> Any:
    """The context of the command being parsed when `exc` was raised.

    Click's parser raises some errors (an option missing its value) with no
    context, though the command is known: it is the `ctx` of the innermost
    frame that has one (make_context, parse_args).
    """
    ctx = getattr(exc, "ctx", None)
    tb = exc.__traceback__ if ctx is None else None
    while tb is not None:
        frame_ctx = tb.tb_frame.f_locals.get("ctx")
        if hasattr(frame_ctx, "info_name") and hasattr(frame_ctx, "parent"):
            ctx = frame_ctx
        tb = tb.tb_next
    return ctx


def _usage_exit(exc: Exception) -> NoReturn:
    if isinstance(exc, NoArgsIsHelpError):
        # `argus` or `argus config` alone: the help is the answer (rich has printed it already; plain click has not)
        text = getattr(exc, "format_message", exc.__str__)()
        if text.strip():
            typer.echo(text, err=True)
    else:
        typer.echo(usage_error_line(exc), err=True)
    raise typer.Exit(2)


class ArgusGroup(TyperGroup):
    """The root of `argus`: a usage error anywhere below it is one line on stderr and exit 2.

    Typer renders usage errors as a usage line, a hint and a rich box in
    the root's `main`. Every command and nested group is parsed inside the
    root's `make_context` (its own options) or `invoke` (subcommands, at
    any depth), so catching usage errors in those two covers every
    command, including ones added later, however `argus` is started:
    console script, `python -m`, or typer's CliRunner.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _usage_exit(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _usage_exit(exc)


app = typer.Typer(cls=ArgusGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Argus: monitoring for machine-learning models (data quality, drift, reports).")
config_app = typer.Typer(no_args_is_help=True, help="Validate model configs, compare what two alert on, read their history.")
app.add_typer(config_app, name="config")

FORMATS = ("json", "html")


@contextmanager
def progress_bar(total: int, label: str):  # type: ignore[no-untyped-def]
    """A progress bar on an interactive terminal; silence when piped."""
    if not sys.stderr.isatty() or os.environ.get("ARGUS_NO_PROGRESS"):
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True, console=None) as p:
        task = p.add_task(label, total=total)
        yield lambda: p.advance(task)


def _column_count(path: str) -> int:
    try:
        from argusml.profile import open_source

        return len(open_source(path).schema.names)
    except ArgusError:
        return 0


def _build_report(reference: str, current: str, target: str | None, prediction: str | None,
                  config: Path | None, ignore: list[str] | None) -> Any:
    from argusml.reports import report
    from argusml.schema import load_report_config

    cfg = load_report_config(config)
    if ignore:
        cfg = cfg.model_copy(update={"ignore": [*cfg.ignore, *ignore]})
    for label, path in (("reference", reference), ("current", current)):
        if not os.path.exists(path):
            raise InputError(f"{label} file not found", path=path)
    total = 2 * max(_column_count(current), 1) + 2
    with progress_bar(total, "profiling") as tick:
        return report(reference, current, target=target, prediction=prediction, config=cfg, progress=tick)


RefOpt = Annotated[str, typer.Option("--reference", "-r", help="reference data (CSV/Parquet) or a baseline JSON")]
CurOpt = Annotated[str, typer.Option("--current", "-c", help="current data (CSV/Parquet)")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="target (label) column")]
PredOpt = Annotated[Optional[str], typer.Option("--prediction", help="prediction (score or class) column")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML/JSON with thresholds, severities, ignores")]
IgnoreOpt = Annotated[Optional[list[str]], typer.Option("--ignore", help="column to leave out (repeatable)")]


FormatOpt = Annotated[str, typer.Option("--format", "-f", help="json or html")]
ReportOutOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", help="file to write the report to; '-' for stdout (without it, report writes "
                           "argus-report.FORMAT and check writes nothing)")]


@dataclass(frozen=True)
class ReportArgs:
    """What `report` or `check` was asked for: one option list, answered two ways."""

    reference: str
    current: str
    target: str | None
    prediction: str | None
    format: str
    output: str | None
    config: Path | None
    ignore: list[str] | None

    def build(self) -> Any:
        """The report, or exit 2 naming why none could be made (a bad --format is refused before any reading)."""
        if self.format not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        return _run(lambda: _build_report(self.reference, self.current, self.target, self.prediction,
                                          self.config, self.ignore))


def _report_command(name: str) -> Callable[[Callable[[ReportArgs], None]], Callable[[ReportArgs], None]]:
    """Register a command that takes `report`'s options, spelled here once.

    `check` is documented as taking the same arguments as `report`; two
    option lists drifted apart (issue 13: `check --format` was refused), so
    both commands are made from this one signature and an option added
    here reaches both. The decorated function keeps only what differs:
    its docstring (the help) and what it does with the report.
    """

    def register(answer: Callable[[ReportArgs], None]) -> Callable[[ReportArgs], None]:
        def command(
            reference: RefOpt,
            current: CurOpt,
            target: TargetOpt = None,
            prediction: PredOpt = None,
            format: FormatOpt = "json",
            output: ReportOutOpt = None,
            config: ConfigOpt = None,
            ignore: IgnoreOpt = None,
        ) -> None:
            answer(ReportArgs(reference, current, target, prediction, format, output, config, ignore))

        command.__doc__ = answer.__doc__
        command.__name__ = command.__qualname__ = answer.__name__
        app.command(name)(command)
        return answer

    return register


def _render(rep: Any, format: str) -> str:
    return rep.to_html() if format == "html" else rep.to_json()


def _emit(text: str, output: str) -> None:
    """Write to the file `output`, or to stdout (nothing else on it) when it is '-'."""
    if output == "-":
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
    else:
        write_output(output, text)


@_report_command("report")
def report_cmd(args: ReportArgs) -> None:
    """Compare current data with a reference; write a JSON or HTML report.

    Example: argus report -r train.parquet -c today.csv --prediction score -f html -o report.html
    """
    rep = args.build()
    path = args.output or f"argus-report.{args.format}"
    _emit(_render(rep, args.format), path)
    if path != "-":
        v = rep.verdict
        typer.echo(f"{path}: {v['status']}; {v['n_drifted']} of {v['n_tested']} columns drifted; findings "
                   + ", ".join(f"{k} {n}" for k, n in v["findings_by_severity"].items()))


@app.command("performance")
def performance_cmd(
    reference: RefOpt,
    current: CurOpt,
    target: Annotated[str, typer.Option("--target", help="target (label) column")],
    prediction: Annotated[str, typer.Option("--prediction", help="prediction column: score, probability or class")],
    segment: Annotated[Optional[list[str]], typer.Option("--segment", help="column to break down by (repeatable)")] = None,
    format: FormatOpt = "json",
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="file to write; '-' for stdout")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="binary decision threshold on the score")] = 0.5,
    positive_class: Annotated[Optional[str], typer.Option("--positive-class", help="binary: the positive label")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="relative drop that matters (0.05 = 5%)")] = 0.05,
    min_labels: Annotated[int, typer.Option("--min-labels", help="fewer labels: insufficient data")] = 100,
) -> None:
    """Model quality on labelled data: metrics with intervals against the reference, and the weakest segments.

    Example: argus performance -r valid.parquet -c last_week.csv --target label --prediction score --segment region
    """
    if format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not 0.0 <= threshold <= 1.0:
        fail(f"--threshold must be between 0 and 1, got {threshold}")
    if not 0.0 <= tolerance < 1.0:
        fail(f"--tolerance must be in [0, 1), got {tolerance}")
    from argusml.reports.performance import performance_report_files, to_html, to_json

    for label, path in (("reference", reference), ("current", current)):
        if not os.path.exists(path):
            fail(f"{path}: {label} file not found")
    rep = _run(lambda: performance_report_files(reference, current, target, prediction, segment or [],
                                                threshold=threshold, positive_class=positive_class,
                                                tolerance=tolerance, min_labels=min_labels))
    text = to_html(rep) if format == "html" else to_json(rep)
    if output == "-":
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
    else:
        path = output or f"argus-performance.{format}"
        write_output(path, text)
        typer.echo(f"{path}: {rep['verdict']['status']}; {rep['current']['labelled']} labelled rows; "
                   f"{len(rep['findings'])} finding(s)")


@_report_command("check")
def check_cmd(args: ReportArgs) -> None:
    """A CI gate: exit 1 when any P0/P1 finding exists, 0 otherwise; takes the options of `argus report`.

    Prints the findings. Writes the report it judged only when given -o (in
    --format; with -o - the report goes to stdout and the findings to stderr).

    Example: argus check -r baseline.json -c candidate_eval.parquet --ignore customer_id -f html -o report.html
    """
    rep = args.build()
    if args.output:
        _emit(_render(rep, args.format), args.output)
    _print_findings(rep, err=args.output == "-")
    if args.output and args.output != "-":
        typer.echo(f"report written to {args.output}")
    raise typer.Exit(1 if rep.has_blocking() else 0)


@app.command("baseline")
def baseline_cmd(
    data: Annotated[str, typer.Argument(help="training or validation data (CSV/Parquet)")],
    output: Annotated[str, typer.Option("--output", "-o", help="baseline JSON to write")],
    target: TargetOpt = None,
    prediction: PredOpt = None,
    id: Annotated[Optional[str], typer.Option("--id", help="row identifier column")] = None,
    timestamp: Annotated[Optional[str], typer.Option("--timestamp", help="event time column")] = None,
    kind: Annotated[Optional[list[str]], typer.Option("--kind", help="override a kind: COL=numeric|categorical|"
                                                                    "boolean|datetime|text")] = None,
    ignore: IgnoreOpt = None,
) -> None:
    """Learn a reference baseline from data and save it as JSON.

    Example: argus baseline train.parquet --target churned --prediction score -o baseline.json
    """
    kinds: dict[str, Kind] = {}
    for item in kind or []:
        col, sep, k = item.partition("=")
        if not sep or k not in {x.value for x in Kind}:
            fail(f"--kind expects COL=KIND with KIND one of {', '.join(x.value for x in Kind)}, got {item!r}")
        kinds[col] = Kind(k)

    def build() -> Any:
        from argusml.profile import Reference, open_source

        src = open_source(data)
        with progress_bar(len(src.schema.names) + 1, "profiling") as tick:
            return Reference.from_source(src, target=target, prediction=prediction, id=id, timestamp=timestamp,
                                         kinds=kinds, ignore=ignore, progress=tick)

    ref = _run(build)
    try:
        ref.save(output)
    except OSError as exc:
        fail(f"{output}: cannot write: {exc.strerror or exc}")
    typer.echo(f"{output}: baseline of {ref.n_rows} rows, {len(ref.specs)} columns")


@app.command("demo")
def demo_cmd(
    data: Annotated[str, typer.Option("--data", help="the demo's store (replaced on each run; `argus serve --data "
                                                     "DIR` reopens it)")] = "argus-data",
    port: Annotated[int, typer.Option("--port", help="port of the service on 127.0.0.1")] = 8080,
    once: Annotated[bool, typer.Option("--once", help="replay the story, write reports into DATA/reports/, and "
                                                      "exit instead of serving")] = False,
    days: Annotated[int, typer.Option("--days", min=2, max=14, help="simulated days to replay (hourly windows)")] = 7,
    batch: Annotated[bool, typer.Option("--report", help="the batch demo instead: example data with planted "
                                                          "problems, one HTML and one JSON report into --out")] = False,
    out: Annotated[str, typer.Option("--out", help="folder for --report's data and reports")] = "argus-demo",
) -> None:
    """A real model in production going wrong, a week replayed in minutes: the service on 127.0.0.1,
    a week of traffic with late labels, a drifting feature, a burst of nulls, a latency regression and
    a worse canary; each incident is printed as it opens, then the dashboard is served until Ctrl-C.

    Example: argus demo ; argus demo --once --data /tmp/argus-data ; argus demo --report --out /tmp/argus-demo
    """
    if not batch:
        from argusml.service.demo import DemoError, run_demo

        try:
            run_demo(data, port, once=once, days=days, echo=typer.echo)
        except DemoError as exc:
            fail(str(exc))
        return
    import pyarrow.parquet as pq

    from argusml.demo import PLANTED, make_demo
    from argusml.reports import report

    os.makedirs(out, exist_ok=True)
    ref, cur = make_demo()
    ref_path, cur_path = os.path.join(out, "reference.parquet"), os.path.join(out, "current.parquet")
    pq.write_table(ref, ref_path)
    pq.write_table(cur, cur_path)
    rep = _run(lambda: report(ref_path, cur_path, target="defaulted", prediction="score"))
    html, js = os.path.join(out, "report.html"), os.path.join(out, "report.json")
    write_output(html, rep.to_html())
    write_output(js, rep.to_json())
    typer.echo("Planted in the current data: " + "; ".join(f"{k}: {v}" for k, v in PLANTED.items()))
    _print_findings(rep)
    typer.echo(f"\nHTML report: {os.path.abspath(html)}\nJSON report: {os.path.abspath(js)}")


@config_app.command("validate")
def config_validate(path: Annotated[Path, typer.Argument(
        help="a folder of model YAMLs (what `argus serve --config` reads), or one file: a model config, "
             "tokens file or report config")]) -> None:
    """Check configuration as its user will: a folder or a model config exactly as `argus serve` checks
    it before it listens; explain each problem on its own line, with the file and key path.

    A folder is checked as `argus serve --config FOLDER` reads it: every
    model YAML (its `reference:` baseline must exist, relative to the file,
    and fit the declared bounds), tokens.yaml, one model name per file. One
    file with a top-level `model:` key is a model config; tokens.yaml, or a
    list of entries, or a `tokens:` key, is a tokens file; anything else is a
    report config (`argus report --config`).

    Example: argus config validate models/ ; argus config validate models/credit.yaml
    """
    from argusml.schema import load_report_config
    from argusml.schema.config import read_mapping
    from argusml.service.server import load_config_dir, load_model_file

    if path.is_dir():
        models, auth = _run(lambda: load_config_dir(path))
        for cfg, ref in models:
            typer.echo(f"{path}: model {cfg.model!r}: valid ({_baseline_line(ref, cfg)})")
            _print_alerting(cfg)
        tokens = f"{len(auth.tokens)} token(s), auth on" if auth is not None and auth.tokens else "no tokens, auth off"
        typer.echo(f"{path}: valid config folder: {len(models)} model(s), {tokens}")
        return
    if not path.exists():
        fail(f"{path}: no such file or folder")
    if _is_tokens_file(path):
        from argusml.schema.model_config import load_auth_config

        auth = _run(lambda: load_auth_config(path))
        typer.echo(f"{path}: valid tokens file: {len(auth.tokens)} token(s)")
        return
    data = _run(lambda: read_mapping(path))
    if "model" in data:
        cfg, ref = _run(lambda: load_model_file(path))
        typer.echo(f"{path}: valid model config: model {cfg.model!r} ({_baseline_line(ref, cfg)})")
        _print_alerting(cfg)
    else:
        _run(lambda: load_report_config(path))
        typer.echo(f"{path}: valid report config")


def _print_alerting(cfg: Any) -> None:
    from argusml.schema.diff import describe_alerting

    for line in describe_alerting(cfg):
        typer.echo(f"  {line}")


def _model_documents(path: Path) -> dict[str, Any]:
    """The model configs at ``path`` (one YAML, or a folder as `argus serve --config` reads it), templates
    applied, by model name; exit 2 naming every problem of every file."""
    from argusml.schema.model_config import load_model_document
    from argusml.service.server import config_files, is_tokens_file

    if not path.exists():
        fail(f"{path}: no such file or folder")
    files = [path] if not path.is_dir() else [p for p in _run(lambda: config_files(path)) if not is_tokens_file(p)]
    out: dict[str, Any] = {}
    problems: list[str] = []
    for f in files:
        try:
            cfg = load_model_document(f)
        except ConfigError as exc:
            problems.extend(str(exc).splitlines())
            continue
        if cfg.model in out:
            problems.append(f"{f}: model: {cfg.model!r} is defined twice in {path}")
        out[cfg.model] = cfg
    if problems:
        fail_lines("\n".join(problems))
    return out


@config_app.command("diff")
def config_diff(
    old: Annotated[Path, typer.Argument(help="the model YAML (or folder of them) as it is")],
    new: Annotated[Path, typer.Argument(help="the model YAML (or folder) as the change would make it")],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of {model, what, key, old, new, "
                                                          "effect}")] = False,
) -> None:
    """Show what a config change would alert on differently: checks, rules, SLOs, routing, receivers and
    the thresholds that decide what fires, compared with templates applied and defaults filled. Folders
    are paired by model name. Exit 0 when both alert identically, 1 when they differ, 2 when a file is
    invalid.

    Example: git show main:models/credit.yaml > /tmp/credit.yaml && argus config diff /tmp/credit.yaml models/credit.yaml
    """
    import json

    from argusml.schema.diff import Change, diff_configs

    if old.is_dir() != new.is_dir() and old.exists() and new.exists():
        fail(f"{old} and {new}: compare a file with a file, or a folder with a folder")
    before, after = _model_documents(old), _model_documents(new)
    if not old.is_dir() and before and after:  # two files: one model each, whatever their names
        after = {next(iter(before)): next(iter(after.values()))}
    changes: list[tuple[str, Change]] = []
    for name in [*before, *(m for m in after if m not in before)]:
        a, b = before.get(name), after.get(name)
        if a is None:
            changes.append((name, Change("model", name, None, "monitored", "new model: starts alerting")))
        elif b is None:
            changes.append((name, Change("model", name, "monitored", None, "no longer monitored")))
        else:
            changes.extend((name, c) for c in diff_configs(a, b))
    if as_json:
        typer.echo(json.dumps([{"model": m, **c.to_dict()} for m, c in changes], indent=2))
    elif not changes:
        typer.echo(f"{old} -> {new}: no change in what alerts")
    else:
        for name in dict.fromkeys(m for m, _ in changes):
            mine = [c for m, c in changes if m == name]
            typer.echo(f"model {name!r}: {len(mine)} change(s) in what alerts")
            for c in mine:
                typer.echo(f"  {c.line()}")
    raise typer.Exit(1 if changes else 0)


@config_app.command("history")
def config_history(
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", help="the model whose config versions to list")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="newest versions to show")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print the service's JSON answer")] = False,
    token: TokenOpt = None,
) -> None:
    """List a model's config versions on a running service, newest first: when, who (the token's name over
    HTTP, $ARGUS_CONFIG_AUTHOR or the OS user for a YAML), from where, and what each changed in what alerts.
    Exit 2 when the service cannot be reached.

    Example: argus config history --url http://argus:8080 --model credit
    """
    import json

    from argusml.schema.diff import Change

    body = get_json(url, token, f"/v1/models/{model}/config/history", {"limit": limit})
    if as_json:
        typer.echo(json.dumps(body["history"], indent=2))
        return
    for v in body["history"]:
        typer.echo(f"version {v['version']}  {v['recorded_at']}  by {v['author']}  from {v['source']}  "
                   f"sha256 {v['sha256'][:12]}")
        if v["changes"] is None:
            typer.echo("  first recorded version")
        elif not v["changes"]:
            typer.echo("  no change in what alerts")
        for c in v["changes"] or []:
            typer.echo(f"  {Change(**c).line()}")


def _is_tokens_file(path: Path) -> bool:
    """Named tokens.yaml, or YAML holding a list of entries or a `tokens:` key in any of its documents
    (`argus token create >> FILE` appends documents): a tokens file."""
    import yaml

    from argusml.service.server import is_tokens_file

    if is_tokens_file(path):
        return True
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except Exception:
        return False  # unreadable or not YAML: read_mapping names the problem
    return any(isinstance(d, list) or (isinstance(d, dict) and "tokens" in d) for d in docs)


def _baseline_line(ref: Any, cfg: Any) -> str:
    from argusml.monitor.llm import is_learning

    if is_learning(ref):
        base = cfg.llm_settings.baseline
        return (f"an LLM model: its baseline is learned from its first {base.windows} windows with events, at least "
                f"{base.min_events} events; {len(ref.specs)} derived columns")
    return f"baseline of {ref.n_rows} rows, {len(ref.specs)} columns"


@app.command("serve")
def serve_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", help="directory of model YAMLs (+ tokens.yaml)")] = None,
    data: Annotated[Path, typer.Option("--data", help="where the store (DuckDB) lives")] = Path("argus-data"),
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    tokens: Annotated[Optional[Path], typer.Option("--tokens", help="token list (default: CONFIG/tokens.yaml)")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning, error")] = "info",
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="largest request body accepted")] = 16.0,
    validate_workers: Annotated[int, typer.Option(
        "--validate-workers", help="processes that decode and validate event batches (-1: 1 with 2+ cores, else 0; "
                                   "0: all in the server process)")] = -1,
    external_url: Annotated[Optional[str], typer.Option(
        "--external-url", envvar="ARGUS_EXTERNAL_URL",
        help="how people reach this service (links in notifications; default http://HOST:PORT)")] = None,
) -> None:
    """Run the collector: HTTP ingest of events and labels, windows, checks, /metrics.

    Example: argus serve --config models/ --data /var/lib/argus --host 0.0.0.0 --port 8080
    """
    from argusml.service.server import serve

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        fail(f"--log-level {log_level!r}: use debug, info, warning or error")
    if validate_workers < -1 or validate_workers > 64:
        fail(f"--validate-workers {validate_workers}: use -1 (automatic), 0, or up to 64")
    _run(lambda: serve(str(config) if config else None, str(data), host, port, log_level=log_level.lower(),
                       tokens_file=str(tokens) if tokens else None, max_body=int(max_body_mb * 1024 * 1024),
                       validate_workers=validate_workers, external_url=external_url))


token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for `argus serve`.")
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="who or what uses the token, e.g. credit-model-server")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="read and/or write (repeatable)")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", help="limit to these models (repeatable)")] = None,
) -> None:
    """Print a new token (once, on stderr) and its entry for tokens.yaml (its hash only, on stdout).

    The entry is a YAML document of its own: append it with `>>` to a new
    tokens.yaml, or to one that already holds tokens, as often as needed.

    Example: argus token create model-server --scope write --model credit >> models/tokens.yaml
    """
    from argusml.schema.model_config import token_document
    from argusml.service.auth import digest, new_token

    if scope is None:
        scope = ["write"]
    scope = scope or ["write"]
    for s in scope:
        if s not in ("read", "write"):
            fail(f"--scope {s!r}: use read or write")
    token = new_token()
    entry: dict[str, Any] = {"name": name, "sha256": digest(token), "scopes": sorted(set(scope))}
    if model:
        entry["models"] = model
    typer.echo(f"# token for {name} (shown once; store it in your secret manager):", err=True)
    typer.echo(token, err=True)
    typer.echo(token_document(entry), nl=False)


@app.command("version")
def version_cmd() -> None:
    """Print Argus's version."""
    from argusml.version import __version__

    typer.echo(__version__)


@app.command("runbook")
def runbook_cmd(
    name: Annotated[Optional[str], typer.Argument(help="the runbook (an alert's name, or rule_<type> for a user "
                                                       "rule); without it, the list")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="fill the commands in for this model")] = None,
    url: Annotated[Optional[str], typer.Option("--url", help="fill the commands in for this service")] = None,
) -> None:
    """Print the runbook Argus ships for an alert (what it means, how to confirm, what to do), or list them.

    Needs no service: the runbooks are part of Argus (a model's YAML may link its own under `runbooks:`).

    Example: argus runbook missing_column --model credit --url http://argus:8080
    """
    from argusml.alerts.runbooks import RUNBOOKS, runbook_text, runbook_title

    if name is None:
        width = max(len(n) for n in RUNBOOKS)
        for n in RUNBOOKS:
            typer.echo(f"{n:<{width}}  {runbook_title(n)}")
        return
    try:
        text = runbook_text(name, model=model, url=url)
    except ValueError as exc:
        fail(str(exc))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# sampled ground truth (cli/review.py): draw predictions for review, send the reviewed labels back
app.command("sample")(sample_cmd)
# what to do (cli/decisions.py): champion against challenger, and retraining advice
app.command("compare")(compare_cmd)
app.command("advise")(advise_cmd)
app.add_typer(labels_app, name="labels")
# per-version references on a running service (cli/references.py)
app.add_typer(reference_app, name="reference")
# history for a new deployment (cli/backfill.py): past predictions into the service's windows
app.command("backfill")(backfill_cmd)
# what the alert engine opened, and what on-call does about it (cli/incidents.py)
app.add_typer(incidents_app, name="incidents")
app.add_typer(silences_app, name="silences")
# Prometheus rules, an Alertmanager config and Grafana dashboards from the model configs (cli/export.py)
app.add_typer(export_app, name="export")
app.command("digest")(digest_cmd)  # the weekly owner report, on demand (cli/digest.py)
# break a model on purpose and time how fast Argus notices (cli/gameday.py)
app.command("gameday")(gameday_cmd)


def fail_lines(message: str) -> NoReturn:
    """Exit 2 with every line of ``message`` on stderr: a config folder can have several problems, one
    line each (file and key path), and each gets the prefix."""
    lines = message.splitlines() or [""]
    for line in lines[:-1]:
        typer.echo(f"argus: error: {line}", err=True)
    fail(lines[-1])


def _run(fn: Any) -> Any:
    try:
        return fn()
    except (InputError, ConfigError) as exc:
        fail_lines(str(exc))
    except ArgusError as exc:
        fail(str(exc))
    except MemoryError:
        fail("out of memory while reading the data")


def _print_findings(rep: Any, err: bool = False) -> None:
    """The verdict and a table of findings; on stderr when stdout carries the report itself."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(100, Console().width), highlight=False, stderr=err)
    v = rep.verdict
    console.print(f"verdict: [bold]{v['status']}[/bold] - {v['n_drifted']} of {v['n_tested']} columns drifted "
                  f"(family-wise alpha {v['alpha']})")
    if not rep.findings:
        console.print("no findings")
        return
    table = Table(show_lines=False)
    for col in ("severity", "check", "column", "message"):
        table.add_column(col, overflow="fold")
    for f in rep.findings:
        table.add_row(f.severity.value, f.check, f.column or "-", f.message)
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    """The console script `argus` (and `python -m argusml.cli.main`); `argv` defaults to the process's arguments."""
    try:
        app(args=argv, prog_name="argus")
    except KeyboardInterrupt:
        typer.echo("argus: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as exc:
        typer.echo(f"argus: internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
