"""The type stub of the native module says what the module has: the same functions and
methods, with the same parameters in the same order."""

import ast
import inspect
from pathlib import Path

from barstore import _native

STUB = Path(_native.__file__).with_name("_native.pyi")


def _stubbed() -> dict[str, list[str]]:
    """Parameter names of each stubbed function and NativeStore method, by name."""
    out = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = [a.arg for a in node.args.args]
        elif isinstance(node, ast.ClassDef) and node.name == "NativeStore":
            for f in node.body:
                if isinstance(f, ast.FunctionDef):
                    name = "NativeStore.new" if f.name == "__init__" else f"NativeStore.{f.name}"
                    out[name] = [a.arg for a in f.args.args if a.arg != "self"]
    return out


def _native_signatures() -> dict[str, list[str]]:
    out = {}
    for name, obj in vars(_native).items():
        if inspect.isbuiltin(obj):
            out[name] = list(inspect.signature(obj).parameters)
    out["NativeStore.new"] = list(inspect.signature(_native.NativeStore).parameters)
    for name, obj in vars(_native.NativeStore).items():
        if not name.startswith("_"):
            params = [p for p in inspect.signature(obj).parameters if p != "self"]
            out[f"NativeStore.{name}"] = params
    return out


def test_the_stub_matches_the_native_module():
    assert _stubbed() == _native_signatures()


def test_the_stub_has_the_calls_about_versions():
    stubbed = _stubbed()
    assert stubbed["NativeStore.history"] == ["limit"]
    assert stubbed["NativeStore.snapshot"] == ["name", "as_of"]
    assert stubbed["NativeStore.snapshots"] == []
    assert stubbed["NativeStore.delete_snapshot"] == ["name"]
    assert stubbed["NativeStore.compact"] == []
