"""The package's structure: layers without cycles, no imports of the package root, imports at module top."""

import ast
import subprocess
import sys
from pathlib import Path

import grimp

import ganeval

PACKAGE = Path(ganeval.__file__).parent
# The only imports left inside functions outside the CLI: heavy dependencies that most runs never touch.
LAZY = ("torch_fidelity", "lpips", "matplotlib", "timm", "open_clip")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        yield path, name, ast.parse(path.read_text())


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: len(module.split(".")) - (0 if is_package else 1)]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_subpackages_form_no_cycle_counting_function_level_imports():
    graph = grimp.build_graph("ganeval")   # grimp reads every import statement, inside functions too
    top = lambda m: ".".join(m.split(".")[:2])  # noqa: E731
    edges = {}
    for m in graph.modules:
        for imported in graph.find_modules_directly_imported_by(m):
            if top(m) != top(imported) and imported != "ganeval":
                edges.setdefault(top(m), set()).add(top(imported))
    # Depth-first search for a back edge.
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            assert state.get(nxt) != "open", f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert edges["ganeval.cli"] and "ganeval.control" not in edges.get("ganeval.models", ())


def test_import_layers_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(lint), "--no-cache", "--config", str(PACKAGE.parent / ".importlinter")],
                       capture_output=True, text=True, cwd=PACKAGE.parent)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "1 kept, 0 broken" in r.stdout


def test_no_module_below_the_cli_imports_the_package_root():
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    offenders = []
    for path, name, tree in _modules():
        if name in ("ganeval", "ganeval.__main__") or name.startswith("ganeval.cli"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(node, name, path.name == "__init__.py")
                if target == "ganeval" and any(a.name not in subpackages | modules for a in node.names):
                    offenders.append(f"{name}: from {target} import {', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Import) and any(a.name == "ganeval" for a in node.names):
                offenders.append(f"{name}: import ganeval")
    assert not offenders, offenders


def test_imports_sit_at_module_top_outside_the_cli():
    inner = []
    for _path, name, tree in _modules():
        if name.startswith("ganeval.cli"):
            continue
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    roots = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    roots = [(node.module or "").split(".")[0] if not node.level else "ganeval"]
                else:
                    continue
                if any(r not in LAZY for r in roots):
                    inner.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert not inner, inner


def test_import_ganeval_is_light():
    code = "import sys, ganeval; print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
    # The command line too: `ganeval --help` imports the commands, not the library they call.
    code = "import sys, ganeval.cli; print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
    code = "import ganeval; print(ganeval.evaluate.__module__, ganeval.load_generator.__module__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["ganeval.metrics.evaluate", "ganeval.checkpoints.load"]


def test_the_gan_control_plugin_registers_through_its_entry_point():
    # A fresh process that never names ganeval.control: loading the controlled model finds the architecture,
    # `resolve_options` the --control options, the report the section.
    code = ("import sys, ganeval; from ganeval.train.options import resolve_options;"
            "from ganeval.report.sections import sections;"
            "G = ganeval.load_generator('synthfaces-stylegan2-control');"
            "o = resolve_options(arch='stylegan2', control='smiling', data='synthfaces:64?res=16', z_dim=8);"
            "print(G.arch, o.arch, o.control, [s.name for s in sections()])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["stylegan2-control", "stylegan2-control", "['smiling']", "['control']"]
