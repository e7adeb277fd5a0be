"""The platform registry: every platform is its spec and its adapter, and the core asks the
registry instead of knowing platforms by name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from crosspost.platforms import registry
from crosspost.platforms.base import PlatformAdapter
from crosspost.platforms.spec import AccountConfig, BlogConfig
from crosspost.profiles import Persona, make_account

SRC = Path(__file__).resolve().parents[1] / "src" / "crosspost"
#: modules allowed to know platforms: the platforms package itself, and the leak guard (which
#: reads social hosts in text, not configured platforms)
PLATFORM_AWARE = ("platforms", "guard")
#: what a core module may import from the platforms package
CORE_MAY_IMPORT = {
    "crosspost.platforms",
    "crosspost.platforms.registry",
    "crosspost.platforms.spec",
    "crosspost.platforms.base",
}


def _core_modules() -> list[Path]:
    return [
        p
        for p in sorted(SRC.rglob("*.py"))
        if p.relative_to(SRC).parts[0] not in PLATFORM_AWARE
        and "migrations" not in p.relative_to(SRC).parts
    ]


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, at module level or in a function."""
    package = "crosspost." + ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    package = package.rstrip(".")
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("name", registry.PLATFORMS)
def test_each_platform_is_a_spec_and_an_adapter(name: str) -> None:
    spec = registry.spec(name)
    assert spec.name == name
    base = BlogConfig if spec.role == "blog" else AccountConfig
    assert issubclass(spec.config, base)
    cls = registry.adapter_class(name)
    assert issubclass(cls, PlatformAdapter), f"{cls.__name__} does not use the base class"
    assert cls.platform == name
    assert tuple(cls.credential_fields) == spec.credential_fields
    if spec.counting is not None:
        assert spec.limit is not None, f"{name} counts length but has no limit"


def test_specs_are_consistent() -> None:
    registry.check_models()
    assert len(set(registry.PLATFORMS)) == len(registry.PLATFORMS)
    assert set(registry.names("blog")) | set(registry.names("share")) == set(registry.PLATFORMS)


def test_an_unknown_platform_is_an_error_naming_the_known_ones() -> None:
    from crosspost.errors import PermanentError

    with pytest.raises(PermanentError) as e:
        registry.spec("myspace")
    assert "mastodon" in (e.value.hint or "")


def test_profiles_take_each_platform_model() -> None:
    a = make_account(name="pro-m", platform="mastodon", visibility="unlisted")
    assert type(a).__name__ == "MastodonAccount" and a.chosen_counting() is None
    p = Persona(display_name="Dr. A", accounts=[{"name": "pro-x", "platform": "x"}])
    assert type(p.accounts[0]) is registry.spec("x").config


def test_no_core_module_imports_a_platform_module() -> None:
    offenders = []
    for path in _core_modules():
        for name in _imports(path):
            if not name.startswith("crosspost.platforms.") or name in CORE_MAY_IMPORT:
                continue
            parent, _, attr = name.rpartition(".")
            is_module = (SRC / "platforms" / f"{attr}.py").exists() or (
                SRC / "platforms" / attr
            ).is_dir()
            if parent in CORE_MAY_IMPORT and not (parent == "crosspost.platforms" and is_module):
                continue  # a name from an allowed module
            offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_no_core_module_compares_platform_names() -> None:
    """``platform == "mastodon"`` in the core means a platform fact lives outside its spec."""
    names = set(registry.PLATFORMS)
    offenders = []
    for path in _core_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                constants = {
                    c.value
                    for o in operands
                    for c in ast.walk(o)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
                mentions_platform = any(
                    isinstance(n, ast.Attribute | ast.Name)
                    and "platform" in (n.attr if isinstance(n, ast.Attribute) else n.id)
                    for o in operands
                    for n in ast.walk(o)
                )
                if mentions_platform and constants & names:
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_loading_profiles_imports_no_platform_sdk(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from crosspost.platforms import registry\n"
        "from crosspost import profiles, textlength, sharetext\n"
        "registry.specs(); registry.account_model()\n"
        "heavy = sorted(m for m in ('tweepy', 'mastodon', 'atproto', 'requests') "
        "if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_config_example_and_field_docs_match_the_models() -> None:
    """config.example.toml and docs/profile-fields.md are written from the models."""
    from crosspost import configdocs

    stale = [str(p) for p, text in configdocs.outputs().items() if p.read_text() != text]
    assert stale == [], "run: python -m crosspost.configdocs --write"


def test_the_generated_example_is_a_valid_configuration(tmp_path: Path) -> None:
    from crosspost import configdocs
    from crosspost.settings import load_settings

    path = tmp_path / "config.toml"
    path.write_text(configdocs.config_example())
    settings = load_settings(path)
    assert settings.daemon.concurrency == {"default": 4}
    assert settings.max_lateness.total_seconds() == 6 * 3600


def test_the_field_docs_name_every_key_of_every_platform() -> None:
    from crosspost import configdocs

    doc = configdocs.profile_fields()
    for name in registry.PLATFORMS:
        model = registry.spec(name).config
        assert f'platform = "{name}"' in doc
        for key in model.model_fields:
            if key != "platform":
                assert f"| `{key}` |" in doc, f"{name}.{key} is not documented"
