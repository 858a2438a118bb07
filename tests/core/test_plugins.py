"""The plugin manager: finding plugins, refusing bad ones, hookspecs of their own,
resolving hook results, and listing what is loaded."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import threading
from typing import Any

import pluggy
import pytest

from core import plugins as core_plugins
from core.aws import AwsEnvironment
from core.cli import main
from core.context import AppContext
from core.errors import ConfigError
from core.plugins import (
    ENTRY_POINT_GROUP,
    call_in_order,
    hookimpl,
    load_plugin,
    make_plugin_manager,
    resolve,
    resolve_all,
)
from tests.core import example_plugin

EXAMPLE = "tests.core.example_plugin"


def names(pm: pluggy.PluginManager) -> list[str]:
    return [name for name, _ in pm.list_name_plugin()]


def test_built_in_plugins_load_by_short_name():
    import plugins.local_aws

    assert load_plugin("local_aws") is plugins.local_aws
    assert names(make_plugin_manager(["local_aws"])) == ["core.defaults", "local_aws"]


def test_other_plugins_load_by_dotted_module_path():
    assert load_plugin(EXAMPLE) is example_plugin


def test_plugins_load_through_the_entry_point_group(monkeypatch):
    entry = importlib.metadata.EntryPoint(name="guestbook", value=EXAMPLE, group=ENTRY_POINT_GROUP)
    asked = []

    def entry_points(**selection: Any) -> importlib.metadata.EntryPoints:
        asked.append(selection)
        found = [entry] if selection == {"group": ENTRY_POINT_GROUP, "name": "guestbook"} else []
        return importlib.metadata.EntryPoints(found)

    monkeypatch.setattr(core_plugins, "entry_points", entry_points)
    pm = make_plugin_manager(["guestbook"])
    assert pm.get_plugin("guestbook") is example_plugin
    assert asked == [{"group": ENTRY_POINT_GROUP, "name": "guestbook"}]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        (["nosuch"], "app.plugins: unknown plugin 'nosuch': not a built-in plugin "
                     "(plugins/nosuch), not an entry point of the 'itube.plugins' group, "
                     "and not a dotted module path"),
        (["tests.core.nosuch"], "app.plugins: unknown plugin 'tests.core.nosuch': "
                                "no module named 'tests.core.nosuch'"),
        (["local_aws", "local_aws"], "app.plugins: plugin 'local_aws' is listed twice"),
        (["local_aws", "plugins.local_aws"], "app.plugins: plugin 'plugins.local_aws' is the same "
                                             "plugin as 'local_aws', which is already loaded"),
    ],
)
def test_unknown_and_duplicate_plugins_stop_start_up(listed, message):
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(listed)
    assert str(caught.value) == message


def test_a_plugin_missing_a_dependency_says_which(tmp_path, monkeypatch):
    (tmp_path / "team_plugins").mkdir()
    (tmp_path / "team_plugins" / "needs_missing.py").write_text("import surely_not_here_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager(["team_plugins.needs_missing"])
    assert str(caught.value) == (
        "app.plugins: plugin 'team_plugins.needs_missing' needs the module 'surely_not_here_xyz', "
        "which is not installed"
    )


class Misspelled:
    @hookimpl
    def startpu(self, ctx: AppContext) -> None:
        pass


def test_check_pending_catches_a_misspelled_hook():
    with pytest.raises(ConfigError) as caught:
        make_plugin_manager([], extra=[Misspelled()])
    message = str(caught.value)
    assert "implements 'startpu', which is not a hook; did you mean 'startup'?" in message


class GreetingSpecs:
    """A plugin's own hookspecs (a real plugin keeps them in its hookspecs.py)."""

    @pluggy.HookspecMarker("itube")
    def on_greeting(self, name: str) -> str | None:
        """Called when someone is greeted."""


class GreetingPlugin:
    @hookimpl
    def register_hookspecs(self, pm: pluggy.PluginManager) -> None:
        pm.add_hookspecs(GreetingSpecs)


class Greeter:
    @hookimpl
    def on_greeting(self, name: str) -> str:
        return f"hello {name}"


@pytest.mark.hooks("register_hookspecs")
@pytest.mark.parametrize("order", ["spec first", "implementation first"])
def test_a_plugin_adds_its_own_hookspecs(order):
    extra = [GreetingPlugin(), Greeter()]
    pm = make_plugin_manager([], extra=extra if order == "spec first" else extra[::-1])
    assert pm.hook.on_greeting(name="ada") == ["hello ada"]
    with pytest.raises(ConfigError, match="'on_greeting', which is not a hook"):
        make_plugin_manager([], extra=[Greeter()])


def test_resolve_takes_values_and_awaitables():
    async def later(value: Any) -> Any:
        await asyncio.sleep(0)
        return value

    async def run() -> tuple[Any, ...]:
        future = asyncio.get_running_loop().create_future()
        future.set_result("future")
        return (await resolve(1), await resolve(later(2)), await resolve(future),
                await resolve_all([None, 3, later(None), later(4)]))

    assert asyncio.run(run()) == (1, 2, "future", [3, 4])


class Recorder:
    def __init__(self, name: str, calls: list[str], **marks: bool) -> None:
        self.name, self.calls = name, calls
        recorder = self

        class Impl:
            @hookimpl(**marks)
            async def startup(self, ctx: Any) -> None:
                await asyncio.sleep(0)
                recorder.calls.append(f"{recorder.name}:{ctx}")

        self.impl = Impl()


def test_call_in_order_follows_the_config_and_marks():
    calls: list[str] = []
    plugins = [Recorder("late", calls, trylast=True), Recorder("a", calls),
               Recorder("b", calls), Recorder("early", calls, tryfirst=True)]
    pm = make_plugin_manager([], extra=[plugin.impl for plugin in plugins])
    asyncio.run(call_in_order(pm, "startup", ctx="x"))
    assert calls == ["early:x", "a:x", "b:x", "late:x"]
    calls.clear()
    asyncio.run(call_in_order(pm, "startup", reverse=True, ctx="y"))
    assert calls == ["late:y", "b:y", "a:y", "early:y"]


def test_every_hook_call_asks_the_plugins_in_config_order():
    class Answers:
        def __init__(self, answer: str) -> None:
            self.answer = answer

        @hookimpl
        def register_settings(self) -> dict[str, type]:
            return {self.answer: dict}

        @hookimpl
        def aws_environment(self, ctx: Any) -> str:
            return self.answer

    pm = make_plugin_manager([EXAMPLE], extra=[Answers("first"), Answers("second")])
    assert [list(answer) for answer in pm.hook.register_settings()] == [
        ["guestbook"], ["first"], ["second"]]
    assert pm.hook.aws_environment(ctx=None) == "first"
    assert names(pm)[0] == "core.defaults"
    assert [name for name, _ in core_plugins.plugins_in_order(pm)][:2] == ["core.defaults",
                                                                          EXAMPLE]


class Watched(Recorder):
    def __init__(self, name: str, calls: list[str]) -> None:
        super().__init__(name, calls)
        recorder = self

        class Impl:
            @hookimpl
            async def startup(self, ctx: Any) -> None:
                recorder.calls.append(f"{recorder.name} starts")

            @hookimpl
            def shutdown(self, ctx: Any) -> None:
                recorder.calls.append(f"{recorder.name} stops")

        self.impl = Impl()


class Wrapping:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl(wrapper=True)
    def startup(self, ctx: Any) -> Any:
        self.calls.append("wrapper before")
        result = yield
        self.calls.append("wrapper after")
        return result


def _monitor(pm: pluggy.PluginManager, calls: list[str]) -> None:
    def before(name: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
        if name in {"startup", "shutdown"}:
            asked = [impl for impl in impls if not impl.wrapper]
            calls.append(f"{name} asks {len(asked)} plugin")

    pm.add_hookcall_monitoring(before, lambda outcome, name, impls, kwargs: None)


@pytest.mark.hooks("startup", "shutdown")
def test_startup_and_shutdown_go_through_pluggy_plugin_by_plugin():
    calls: list[str] = []
    pm = make_plugin_manager([], extra=[Watched("a", calls).impl, Watched("b", calls).impl,
                                        Wrapping(calls)])
    _monitor(pm, calls)
    asyncio.run(call_in_order(pm, "startup", ctx=None))
    asyncio.run(call_in_order(pm, "shutdown", reverse=True, ctx=None))
    # The wrapper sees each call; an `async def` implementation's body runs when the kernel
    # awaits what the call returned, before the next plugin is asked.
    assert calls == [
        "startup asks 1 plugin", "wrapper before", "wrapper after", "a starts",
        "startup asks 1 plugin", "wrapper before", "wrapper after", "b starts",
        "shutdown asks 1 plugin", "b stops",
        "shutdown asks 1 plugin", "a stops",
    ]


@pytest.mark.hooks("aws_environment")
def test_aws_environment_feeds_the_apps_clients(make_client, kernel_config):
    seen: dict[str, Any] = {}

    class FakeRegion:
        @hookimpl
        def aws_environment(self, ctx: AppContext) -> AwsEnvironment:
            seen["thread"] = threading.current_thread()
            seen["cache"] = ctx.cache
            return AwsEnvironment(endpoint_url="http://127.0.0.1:9", region="eu-west-3",
                                  access_key_id="k", secret_access_key="s",
                                  resources={"s3_raw_bucket": "raw"})

    client = make_client(kernel_config(aws={"region": "us-east-1"}), plugins=[FakeRegion()])
    ctx: AppContext = client.app.state.ctx
    assert seen["thread"] is not threading.main_thread()
    assert ctx.aws.region == "eu-west-3" and ctx.aws.endpoint_url == "http://127.0.0.1:9"
    assert ctx.aws.resource("s3_raw_bucket") == "raw"
    assert ctx.aws.resource("s3_processed_bucket", "fallback") == "fallback"
    assert ctx.aws.credentials().access_key == "k"
    s3 = ctx.aws.client("s3")
    assert s3 is ctx.aws.client("s3") and s3.meta.region_name == "eu-west-3"


def test_without_aws_environment_the_aws_section_rules(make_client, kernel_config):
    client = make_client(kernel_config(aws={"region": "ap-south-1", "endpoint_url": ""}))
    aws = client.app.state.ctx.aws
    assert (aws.region, aws.endpoint_url, aws.resource("s3_raw_bucket")) == ("ap-south-1", None, "")


def test_get_plugins_lists_plugins_versions_and_hooks(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE]), plugins=[Greeter(), GreetingPlugin()])
    listed = {plugin["name"]: plugin for plugin in client.get("/-/plugins").json()}
    assert listed[EXAMPLE] == {
        "name": EXAMPLE,
        "module": EXAMPLE,
        "version": "1.0.0",
        "hooks": ["config_problems", "readiness_checks", "register_piccolo_app",
                  "register_routes", "register_settings"],
    }
    assert listed["core.defaults"]["hooks"] == ["cache_backend", "event_broker",
                                                "register_piccolo_app"]
    assert listed["core.defaults"]["version"] == core_plugins._version_of(core_plugins)
    greeter = next(plugin for plugin in listed.values() if plugin["module"].endswith("Greeter"))
    assert greeter["hooks"] == ["on_greeting"] and greeter["version"] is None


def test_itube_plugins_lists_them_too(tmp_path, capsys):
    path = tmp_path / "itube.toml"
    path.write_text(f'[app]\nplugins = ["local_aws", "{EXAMPLE}"]\n')
    assert main(["plugins", "--config", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{EXAMPLE} 1.0.0  [{EXAMPLE}]" in text
    assert "hooks: aws_environment, config_problems, register_settings, shutdown" in text
    assert main(["--config", str(path), "plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [plugin["name"] for plugin in listed] == ["core.defaults", "local_aws", EXAMPLE]


class WrongArgumentName:
    @hookimpl
    def startup(self, context: Any) -> None:  # the hook passes `ctx`
        pass


def test_a_hook_implementation_with_a_wrong_argument_stops_start_up_in_one_line(capsys):
    with pytest.raises(ConfigError) as refused:
        make_plugin_manager([], extra=[WrongArgumentName()])
    message = str(refused.value)
    assert message == (
        f"app.plugins: plugin '{__name__}.WrongArgumentName': its 'startup' implementation "
        "takes 'context', which the hook does not pass (it passes: ctx)"
    )


class ReadsTheExamplesSettings:
    @hookimpl
    def register_settings(self) -> dict[str, type]:
        return {"guestbook": dict}


def test_two_plugins_reading_one_settings_table_stop_start_up(kernel_config):
    from core.app import prepare

    with pytest.raises(ConfigError) as refused:
        prepare(kernel_config([EXAMPLE]), plugins=[ReadsTheExamplesSettings()])
    assert str(refused.value) == (
        f"app.plugins: {EXAMPLE} and {__name__}.ReadsTheExamplesSettings both read "
        "[plugins.guestbook]: load only one of them"
    )
