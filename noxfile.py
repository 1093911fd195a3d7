"""Developer sessions: ``nox -s tests lint typecheck docs demo bench fuzz plugin_alone wheels``.

``tests`` installs the core and every plugin under ``plugins/`` (each with its
``test`` extra, which brings the format's reference implementation) into one
environment and runs the whole suite. ``plugin_alone`` and ``wheels`` install like
a user, into fresh environments, to catch dependencies a distribution uses but does
not declare.
"""

from __future__ import annotations

import email.parser
import zipfile
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
SHARED_DATA = ROOT.parent / "shared" / "data"


def _install_all(
    session: nox.Session, core_extra: str = "testing", plugin_extra: str | None = "test"
) -> None:
    args = ["-e", f".[{core_extra}]"]
    for plugin in PLUGINS:
        suffix = f"[{plugin_extra}]" if plugin_extra else ""
        args += ["-e", f"{plugin.relative_to(ROOT)}{suffix}"]
    session.install(*args)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: core and every plugin."""
    _install_all(session)
    # pytest exits with 5 when it collected no test; nox treats any non-zero exit as failure.
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: style, imports, docstrings (numpy convention)."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the core and every plugin's sources."""
    _install_all(session, plugin_extra=None)
    # mypy >= 1.9 for `untyped_calls_exclude`; the stub packages of the untyped libraries we call.
    session.install("mypy>=1.9", "types-psutil", "types-tqdm", "pandas-stubs")
    sources = ["scitiff_readers", *(str(p.relative_to(ROOT) / "src") for p in PLUGINS)]
    # strict, warn_unused_ignores: see [tool.mypy] in pyproject.toml (its `files` list the same sources).
    session.run("mypy", *sources)


@nox.session
def docs(session: nox.Session) -> None:
    """Sphinx HTML docs; warnings are errors."""
    _install_all(session, core_extra="docs,testing", plugin_extra=None)
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def demo(session: nox.Session) -> None:
    """Write a sample of every format with its reference writer, read it back; read the shared real files."""
    _install_all(session, plugin_extra="samples")
    session.run("scitiff-readers", "plugins")
    session.run("scitiff-readers", "demo", "--shared", str(SHARED_DATA))


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side timings against tifffile / bioio / reference readers (numbers in the log)."""
    _install_all(session, core_extra="bench")
    session.run("python", "benchmarks/side_by_side.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Long fuzz campaign: hostile variants of every format, each read in a forked, limited child.

    Default 10,000 cases per format plus every crafted path-escape case; pass runner
    options after ``--``, e.g.
    ``nox -s fuzz -- --cases 2000 --formats tiff ome-zarr --workers 4`` (crafted cases
    included; ``--no-crafted`` leaves them out). Failing
    cases are copied to ``fuzz-failures/`` and the table is printed (see
    docs/robustness.md). Exits non-zero if any case is untyped, hangs, blows up
    memory, crashes, reads silently wrong or reads outside its dataset.
    """
    _install_all(session)
    args = list(session.posargs) or ["--cases", "10000"]
    # The crafted path-escape cases (353, about a minute) always run, unless asked not to.
    if "--no-crafted" in args:
        args.remove("--no-crafted")
    elif "--crafted" not in args:
        args.append("--crafted")
    session.run(
        "python",
        "-m",
        "scitiff_readers.testing.fuzz",
        "--keep",
        "fuzz-failures",
        "--report",
        "fuzz-report.json",
        *args,
    )


@nox.session(name="napari_screenshot")
def napari_screenshot(session: nox.Session) -> None:
    """Render a real file with the napari plugin (needs xvfb-run): the docs image and the rendering test."""
    _install_all(session)
    sample = (
        SHARED_DATA
        / "corpus"
        / "tlnagy+exampletiffs"
        / "ometiff_testdata"
        / "singles"
        / "181003_multi_pos_time_course_1_MMStack.ome.tif"
    )
    xvfb = ["xvfb-run", "-a", "-s", "-screen 0 1600x1200x24"]
    env = {"QT_QPA_PLATFORM": "offscreen"}  # Qt offscreen, OpenGL through the X server xvfb-run starts
    session.run(
        *xvfb,
        "python",
        "plugins/napari/screenshot.py",
        str(sample),
        "docs/_static/napari-multi-position.png",
        env=env,
        external=True,
    )
    session.run(
        *xvfb, "python", "-m", "pytest", "-q", "plugins/napari", "-k", "screenshot", env=env, external=True
    )


def _build_wheels(session: nox.Session) -> dict[str, Path]:
    """Wheels of the core and every plugin in ``dist/``: distribution name -> wheel file."""
    out = ROOT / "dist"
    for old in out.glob("scitiff_readers*.whl"):
        old.unlink()
    session.install("pip>=24")
    session.run(
        "python",
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "-w",
        str(out),
        ".",
        *(str(p.relative_to(ROOT)) for p in PLUGINS),
    )
    wheels = {}
    for wheel in sorted(out.glob("scitiff_readers*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
        wheels[meta["Name"]] = wheel
    return wheels


def _closure(wheels: dict[str, Path], name: str) -> list[str]:
    """``name`` and the distributions of this repository it requires, from the wheels' metadata."""
    seen: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        with zipfile.ZipFile(wheels[current]) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
        for req in meta.get_all("Requires-Dist") or []:
            if "extra ==" in req:
                continue
            dep = req.split(";")[0].strip()
            dep_name = dep.split("@")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
            if dep_name in wheels:
                todo.append(dep_name)
    return seen


def _smoke(session: nox.Session, distributions: list[str]) -> None:
    session.run("python", str(ROOT / ".ci" / "smoke.py"), str(SHARED_DATA), *distributions)


@nox.session(reuse_venv=False)
@nox.parametrize("plugin", [p.name for p in PLUGINS])
def plugin_alone(session: nox.Session, plugin: str) -> None:
    """The core plus one plugin (and the plugins it declares) in a fresh venv: import all, read a sample.

    Installs the built wheels, not the source trees, so only what each distribution
    declares is installed.
    """
    wheels = _build_wheels(session)
    name = f"scitiff-readers-{plugin}"
    needed = _closure(wheels, name)
    session.install(*(str(wheels[n]) for n in needed))
    _smoke(session, needed)


@nox.session(reuse_venv=False)
def wheels(session: nox.Session) -> None:
    """Build a wheel of every distribution, install them all into a clean venv and read each format."""
    built = _build_wheels(session)
    session.install(*(str(w) for w in built.values()))
    session.run("scitiff-readers", "plugins")
    _smoke(session, list(built))
