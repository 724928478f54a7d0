"""Reading config files without running them: YAML, JSON, Python by ast, seed documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from restsync.config.dialect import translate
from restsync.config.loader import (
    ConfigSyntaxError,
    LoadedConfig,
    Reference,
    load_config,
    load_text,
    references,
    resolve,
    source_name_for,
)
from restsync.errors import ConfigError

SEEDS = Path(__file__).parent / "seeds"
SEED_DOCUMENT = """# Overview

Prose, with `inline code` and a JSON example first:

```json
{"not": "this one"}
```

```python
import dlt
from dlt.sources.rest_api import rest_api_source

source = rest_api_source({
    "client": {"base_url": "https://api.example.com"},
    "resources": ["a"]
    // trailing words
})
```

```python
second = {"client": {}, "resources": []}
```
"""

YAML_CONFIG = """\
client:
  base_url: https://api.example.com/v1
  auth:
    type: basic
    username: dlt.secrets["username"]
    password: dlt.secrets["password"]
resources:
  - name: customers
    endpoint:
      path: /customers
"""

PY_CALL = """\
import dlt
from dlt.sources.rest_api import rest_api_source

source = rest_api_source(
    {
        "client": {
            "base_url": dlt.config["base_url"],
            "auth": {"type": "bearer", "token": dlt.secrets["access_token"]},
        },
        "resources": [{"name": "a", "endpoint": {"path": "/a", "params": {"n": -5}}}],
    },
    name="shop",
)
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_with_references_and_lines(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, "shop.yaml", YAML_CONFIG))
    assert loaded.format == "yaml" and loaded.source_name == "shop"
    assert loaded.config["client"]["auth"]["username"] == Reference("secrets", "username")
    assert loaded.config["resources"][0]["endpoint"]["path"] == "/customers"
    assert loaded.lines["resources[0].endpoint.path"] == 10
    assert loaded.lines["client.auth.type"] == 4


def test_json_with_references(tmp_path: Path) -> None:
    data = {"client": {"base_url": "x", "auth": {"token": 'dlt.secrets["token"]'}}}
    loaded = load_config(write(tmp_path, "api.json", json.dumps(data)))
    assert loaded.format == "json"
    assert loaded.config["client"]["auth"]["token"] == Reference("secrets", "token")


def test_python_rest_api_source_call_is_read_not_run(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, "anything.py", PY_CALL))
    assert loaded.format == "python" and loaded.named_in_file
    assert loaded.source_name == "shop"  # the call's name= wins over the file's stem
    assert loaded.config["client"]["base_url"] == Reference("config", "base_url")
    assert loaded.config["client"]["auth"]["token"] == Reference("secrets", "access_token")
    assert loaded.config["resources"][0]["endpoint"]["params"] == {"n": -5}
    assert loaded.lines["resources[0]"] == 10


def test_python_dict_literal_and_a_name_passed_to_the_call() -> None:
    assert load_text('config = {"client": {}, "resources": []}', "python").config == {
        "client": {},
        "resources": [],
    }
    text = 'other = {"a": 1}\ncfg = {"resources": (1, 2)}\nsource = rest_api_source(cfg)\n'
    assert load_text(text, "python").config == {"resources": [1, 2]}
    assert load_text('x = {"a": 1}\ny = {"client": 2}', "python").config == {"client": 2}


def test_dlt_secrets_value_is_named_after_its_key() -> None:
    loaded = load_text('c = {"client": {"auth": {"token": dlt.secrets.value}}}', "python")
    assert loaded.config["client"]["auth"]["token"] == Reference("secrets", "token")


def test_python_that_would_need_running_is_refused_with_its_line() -> None:
    text = 'import os\nc = {\n    "client": {"base_url": os.environ["URL"]},\n}\n'
    with pytest.raises(ConfigSyntaxError) as info:
        load_text(text, "python")
    assert info.value.line == 3
    assert "`os.environ['URL']` is not a literal" in str(info.value)


def test_python_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", 'c = {\n    "client": {"base_url": "x"}\n    "r": 1,\n}\n')
    with pytest.raises(ConfigSyntaxError) as info:
        load_config(path)
    assert info.value.line == 2
    assert str(info.value).startswith(f"{path}:{info.value.line}: invalid Python")


@pytest.mark.parametrize(
    ("text", "fmt", "line"),
    [
        ("client:\n  base_url: [x\nresources: []\n", "yaml", 3),
        ('{\n  "client": {},\n  "resources": [,]\n}', "json", 3),
    ],
)
def test_yaml_and_json_syntax_errors_name_their_line(text: str, fmt: str, line: int) -> None:
    with pytest.raises(ConfigSyntaxError) as info:
        load_text(text, fmt)  # type: ignore[arg-type]
    assert info.value.line == line


def test_js_comments_are_recorded_skipped_and_urls_left_alone() -> None:
    text = (
        "c = {\n"
        '    "client": {"base_url": "https://api.example.com//v1"},  # a // in a # comment\n'
        '    "resources": [\n'
        '        {"name": "a", "endpoint": {"path": "/a", "params": {"limit": 10 // 2}}},\n'
        "        // more to come\n"
        '        {"name": "b", "endpoint": "/b"}  // the last one\n'
        "    ],\n"
        "}\n"
    )
    with pytest.raises(ConfigSyntaxError):  # `10 // 2` is floor division, not a literal
        load_text(text, "python")
    loaded = load_text(text.replace("10 // 2", "10"), "python")
    assert loaded.config["client"]["base_url"] == "https://api.example.com//v1"
    assert [(c.line, c.text, c.path) for c in loaded.js_comments] == [
        (5, "// more to come", "resources"),
        (6, "// the last one", "resources"),
    ]


def test_a_trailing_comment_after_a_value_is_found_by_the_parser() -> None:
    text = 'c = {\n    "resources": [],\n    "client": {"base_url": 1 // the host\n    },\n}\n'
    loaded = load_text(text, "python")
    assert loaded.config == {"resources": [], "client": {"base_url": 1}}
    assert [(c.line, c.path) for c in loaded.js_comments] == [(3, "client")]


def test_seed_001_reads_despite_its_js_comment() -> None:
    loaded = load_config(SEEDS / "seed_001.py")
    assert [r["name"] for r in loaded.config["resources"]] == ["customers", "products", "orders"]
    (comment,) = loaded.js_comments
    assert comment.line == 69 and comment.path == "resources"


def test_a_seed_document_gives_its_first_python_block_with_document_lines(
    tmp_path: Path,
) -> None:
    loaded = load_config(write(tmp_path, "003_abc.md", SEED_DOCUMENT))
    assert loaded.format == "python"
    assert loaded.source_name == "config_003_abc"  # dlt's names are identifiers: not `003_abc`
    assert loaded.config["resources"] == ["a"]
    (comment,) = loaded.js_comments
    assert comment.line == 16 and comment.text == "// trailing words"
    assert loaded.lines["client"] == 14


@pytest.mark.parametrize("number", range(5))
def test_every_seed_fixture_loads(number: int) -> None:
    loaded = load_config(SEEDS / f"seed_00{number}.py")
    assert loaded.source_name == f"seed_00{number}"
    assert loaded.config["resource_defaults"] == {"primary_key": "id", "write_disposition": "merge"}
    assert all(isinstance(ref, Reference) for _, ref in references(loaded.config))


def test_document_without_python_and_unknown_suffix_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="no ```python block"):
        load_config(write(tmp_path, "a.md", "# nothing\n"))
    with pytest.raises(ConfigError, match=r"unknown config format '\.toml'"):
        load_config(write(tmp_path, "a.toml", ""))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")


def test_source_name_is_the_stem_without_fixed() -> None:
    assert source_name_for(Path("dir/my-api.fixed.yaml")) == "my_api"
    assert source_name_for(Path("seed_003.py")) == "seed_003"


def test_references_resolve_from_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load_config(SEEDS / "seed_003.py")
    monkeypatch.setenv("SOURCES__SEED_003__API_TOKEN", "tok")
    monkeypatch.setenv("SOURCES__SEED_003__API_SECRET", "sec")
    config = resolve(loaded)
    assert config["client"]["auth"] == {"type": "basic", "username": "tok", "password": "sec"}
    assert loaded.config["client"]["auth"]["username"] == Reference("secrets", "api_token")


def test_overrides_win_and_settings_come_from_dlt_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__SHOP__BASE_URL", "http://127.0.0.1:9")
    loaded = load_text(PY_CALL, "python")
    config = resolve(loaded, overrides={"access_token": "t0"})
    assert config["client"] == {
        "base_url": "http://127.0.0.1:9",
        "auth": {"type": "bearer", "token": "t0"},
    }
    assert resolve(loaded, "other", {"access_token": "t", "base_url": "u"})["client"]["base_url"]


def test_missing_references_are_named_with_their_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"SOURCES__SEED_000__{name}", raising=False)
    with pytest.raises(ConfigError) as info:
        resolve(load_config(SEEDS / "seed_000.py"))
    message = str(info.value)
    assert "needs password, username" in message
    assert "SOURCES__SEED_000__PASSWORD, SOURCES__SEED_000__USERNAME" in message


def test_resolved_seed_000_translates_once_parents_are_given() -> None:
    loaded = load_config(SEEDS / "seed_000.py")
    config = resolve(loaded, overrides={"username": "u", "password": "p"})
    with pytest.raises(ConfigError, match=r"\{organizationId\} has no parameter"):
        translate(config)


def test_loaded_config_is_frozen() -> None:
    loaded = load_text("c = {}", "python")
    assert isinstance(loaded, LoadedConfig)
    with pytest.raises(AttributeError):
        loaded.source_name = "x"  # type: ignore[misc]


THE_CONFIG = '{"client": {"base_url": "http://x"}, "resources": ["a"]}'


@pytest.mark.parametrize(
    "text",
    [
        # as dlt's docs write it: annotated
        "from dlt.sources.rest_api import RESTAPIConfig, rest_api_source\n"
        f"config: RESTAPIConfig = {THE_CONFIG}\nsource = rest_api_source(config)\n",
        # inside a @dlt.source, yielding the resources
        "import dlt\nfrom dlt.sources.rest_api import rest_api_resources\n\n"
        f"@dlt.source\ndef api():\n    config = {THE_CONFIG}\n"
        "    yield from rest_api_resources(config)\n",
        # a name assigned twice: the last assignment before the call
        'config = {"client": {"base_url": "http://staging"}, "resources": ["staging_only"]}\n'
        f"config = {THE_CONFIG}\nsource = rest_api_source(config)\n",
        # the call's own scope before the module's
        'config = {"client": {"base_url": "http://module"}, "resources": ["module"]}\n\n'
        f"def api():\n    config = {THE_CONFIG}\n    return rest_api_source(config)\n",
    ],
)
def test_the_config_a_python_file_passes_is_the_one_read(tmp_path: Path, text: str) -> None:
    assert load_config(write(tmp_path, "api.py", text)).config["resources"] == ["a"]


def test_a_file_that_is_not_utf8_or_nests_forever_is_a_syntax_error(tmp_path: Path) -> None:
    latin1 = tmp_path / "l.yaml"
    latin1.write_bytes(b"client:\n  base_url: http://x\n# caf\xe9\n")
    with pytest.raises(ConfigSyntaxError, match="not UTF-8") as caught:
        load_config(latin1)
    assert caught.value.line == 3
    with pytest.raises(ConfigSyntaxError, match="alias contains itself"):
        load_config(write(tmp_path, "r.yaml", "a: &a [*a]\n"))


@pytest.mark.parametrize(
    "text",
    [
        # a call in a nested function reads the innermost function's name
        'config = {"client": {"base_url": "http://outer"}, "resources": ["o"]}\n'
        f"def outer():\n    config = {THE_CONFIG}\n"
        "    def inner():\n        return rest_api_source(config)\n    return inner()\n",
        # a class attribute is not a variable of the module
        f"config = {THE_CONFIG}\n"
        'class Settings:\n    config = {"client": {"base_url": "http://class"}, "resources": []}\n'
        "source = rest_api_source(config)\n",
        # a function runs after the module: the module's last assignment, even a later one
        "def source():\n    return rest_api_source(config)\n"
        'config = {"client": {"base_url": "http://early"}, "resources": ["e"]}\n'
        f"config = {THE_CONFIG}\n",
    ],
)
def test_a_name_is_resolved_by_pythons_scopes(tmp_path: Path, text: str) -> None:
    assert load_config(write(tmp_path, "api.py", text)).config["resources"] == ["a"]


def test_json_keys_have_their_lines_for_lint(tmp_path: Path) -> None:
    text = '{\n  "client": {"base_url": "http://x"},\n  "resources": [\n    {"name": "a"}\n  ]\n}\n'
    loaded = load_config(write(tmp_path, "api.json", text))
    assert loaded.lines["client"] == 2 and loaded.lines["resources[0]"] == 4
