"""``ganzoo list`` and ``ganzoo plugins``: what is installed, and which plugin registered it."""

from __future__ import annotations

import json
from typing import Any

import click

from ganzoo.cli.base import main


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_command(as_json: bool) -> None:
    """List architectures, training methods, losses, datasets, metrics, exporters and zoo models."""
    from ganzoo.host.manager import get_registry

    registry = get_registry()
    sections = {
        "architectures": [
            (a.name, f"{a.task}, method {a.default_method}, loss {a.default_loss}", a.plugin, a.description)
            for a in registry.architectures.values()
        ],
        "methods": [
            (x.name, _method_facts(x.method_class), x.plugin, x.description) for x in registry.methods.values()
        ],
        "losses": [(x.name, "", x.plugin, x.description) for x in registry.losses.values()],
        "datasets": [
            (x.name, "needs a path" if x.needs_path else "", x.plugin, x.description)
            for x in registry.datasets.values()
        ],
        "metrics": [(x.name, "", x.plugin, x.description) for x in registry.metrics.values()],
        "exporters": [(x.name, "", x.plugin, x.description) for x in registry.exporters.values()],
        "zoo models": [(x.name, _zoo_details(x), x.plugin, x.description) for x in registry.pretrained.values()],
    }
    if as_json:
        click.echo(
            json.dumps(
                {
                    k: [dict(zip(("name", "details", "plugin", "description"), row, strict=True)) for row in sorted(v)]
                    for k, v in sections.items()
                },
                indent=2,
            )
        )
        return
    for title, rows in sections.items():
        click.secho(f"{title} ({len(rows)})", bold=True)
        if not rows:
            click.echo("  (none installed)")
        width = max((len(r[0]) for r in rows), default=0)
        for name, details, plugin, description in sorted(rows):
            extra = f" [{details}]" if details else ""
            click.echo(f"  {name:<{width}}  {description}{extra}  (plugin: {plugin})")
        click.echo()


def _zoo_details(entry: Any) -> str:
    """``unconditional, dcgan, CelebA-64, 64px, FID 41.2`` for ``ganzoo list``."""
    parts = [entry.task, entry.architecture, entry.dataset, f"{entry.resolution}px" if entry.resolution else ""]
    parts += [f"{k.upper()} {v:g}" for k, v in entry.metrics.items()]
    parts.append("bundled" if entry.bundled else f"{entry.repo_id}@{entry.revision}")
    return ", ".join(p for p in parts if p)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins_command(as_json: bool) -> None:
    """List plugins with their versions, what each registered, and any load errors."""
    from dataclasses import asdict

    from ganzoo.host.manager import get_plugins

    infos = get_plugins()
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], indent=2))
        return
    for info in infos:
        origin = f"{info.distribution} {info.version}".strip() or info.module
        click.secho(f"{info.name}", bold=True, nl=False)
        click.echo(f"  ({origin}{', built-in' if info.builtin else ''})")
        for kind, names in info.registered.items():
            click.echo(f"    {kind}: {', '.join(names)}")
        for error in info.errors:
            click.secho(f"    error: {error}", fg="red")


def _method_facts(method_class: type) -> str:
    """What a method trains and reads: ``unconditional architectures; needs image; no loss``."""
    tasks = getattr(method_class, "tasks", ())
    facts = [f"{'/'.join(tasks)} architectures" if tasks else "any architecture"]
    facts.append("needs " + ", ".join(sorted(getattr(method_class, "needs", ()))))
    if not getattr(method_class, "uses_loss", True):
        facts.append("no --loss")
    return "; ".join(facts)
