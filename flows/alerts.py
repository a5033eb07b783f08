"""`trainflow alerts`: Prefect automations that notify a team through a notification block.

One automation per alert in `alerts.on`, named `trainflow <artifact>: <alert>`, each sending
through the block `alerts.block` (Slack, Microsoft Teams, email, a custom webhook: any block
that can notify). Prefect has no "update or create" for automations, and triggers declared on a
deployment are recreated on every deploy, so these are kept by name: applying the same params
again changes nothing, a changed one is updated in place, a duplicate is deleted, and an alert
taken out of `alerts.on` is removed, each said in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flows import events
from tasks.common.errors import ParamsError
from tasks.common.params import AlertsParams

WHERE = "Repository: {{ event.resource['trainflow.repository'] }}"


@dataclass(frozen=True)
class Alert:
    """What to watch for (`expect`, on which resource) and the message, as Jinja templates
    Prefect renders when it fires (`event`, `flow_run`)."""

    key: str
    expect: str
    subject: str
    body: str
    on_model: bool = True  # about the model resource (else about a retrain flow run)
    proactive: bool = False


ALERTS = {
    "failed": Alert(
        "failed",
        events.RUN_FAILED,
        "trainflow: retraining <artifact> failed",
        "Run '{{ flow_run.name }}' failed"
        "{% if event.payload.stage %} in stage '{{ event.payload.stage }}'{% endif %}"
        " (exit code {{ event.payload.exit_code }}): {{ event.payload.summary }}",
    ),
    "crashed": Alert(
        "crashed",
        "prefect.flow-run.Crashed",
        "trainflow: retraining <artifact> crashed",
        "Run '{{ flow_run.name }}' crashed: {{ flow_run.state.message }}",
        on_model=False,
    ),
    "refused": Alert(
        "refused",
        events.GATE_REFUSED,
        "trainflow: the gate refused a challenger for <artifact>",
        "Run '{{ flow_run.name }}': the gate refused the new model, nothing was registered"
        "{% if event.payload.champion %} (champion <artifact>@{{ event.payload.champion }}"
        " stays){% endif %}. Failed checks: {{ event.payload.summary }}",
    ),
    "drift": Alert(
        "drift",
        events.DRIFT_DETECTED,
        "trainflow: new data for <artifact> drifted",
        "Run '{{ flow_run.name }}', stage 'validate': {{ event.payload.summary }}"
        " (validate.drift.action: {{ event.payload.action }})",
    ),
    "stale": Alert(
        "stale",
        events.MODEL_REGISTERED,
        "trainflow: no new version of <artifact> for <days> days",
        "No version of <artifact> was registered in the last <days> days: is the retraining"
        " running, and is new data arriving?",
        proactive=True,
    ),
}


def filled(template: str, artifact: str, days: float) -> str:
    return template.replace("<artifact>", artifact).replace("<days>", f"{days:g}")


def name_of(artifact: str, key: str) -> str:
    return f"trainflow {artifact}: {key}"


def run_link(ui_url: str | None) -> str:
    """The run's page: the UI this command's Prefect settings name, else Prefect's own filter
    (which needs PREFECT_UI_URL set on the server)."""
    if ui_url:
        return f"{ui_url.rstrip('/')}/runs/flow-run/{{{{ flow_run.id }}}}"
    return "{{ flow_run|ui_url }}"


def trigger(alert: Alert, artifact: str, days: float):
    from prefect.events.schemas.automations import EventTrigger, Posture

    if alert.proactive:
        return EventTrigger(
            expect={alert.expect},
            match={"prefect.resource.id": events.resource_id(artifact)},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(days=days),
        )
    if alert.on_model:
        return EventTrigger(
            expect={alert.expect},
            match={"prefect.resource.id": events.resource_id(artifact)},
            posture=Posture.Reactive,
            threshold=1,
        )
    return EventTrigger(
        expect={alert.expect},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": "retrain"},
        posture=Posture.Reactive,
        threshold=1,
    )


def automation(alert: Alert, artifact: str, p: AlertsParams, block_id, ui_url: str | None):
    """The Prefect automation for one alert (not yet sent to the API)."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore

    body = filled(alert.body, artifact, p.stale_days)
    if not alert.proactive:
        body += f"\n{WHERE}\nRun: {run_link(ui_url)}"
    return AutomationCore(
        name=name_of(artifact, alert.key),
        description=f"trainflow alert ({alert.key}), kept by `trainflow alerts`",
        enabled=True,
        tags=["trainflow"],
        trigger=trigger(alert, artifact, p.stale_days),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject=filled(alert.subject, artifact, p.stale_days),
                body=body,
            )
        ],
    )


def notification_block(client, ref: str | None):
    """The block document `TYPE/NAME` names, checked to be one that can notify."""
    from prefect.exceptions import ObjectNotFound

    if not ref:
        raise ParamsError(
            "alerts.block: not set; name a Prefect notification block as TYPE/NAME, e.g."
            " --set alerts.block=slack-webhook/ml-team (`prefect block ls` lists them)"
        )
    slug, _, name = ref.partition("/")
    try:
        found = client.read_block_document_by_name(name, block_type_slug=slug)
    except ObjectNotFound:
        raise ParamsError(
            f"alerts.block: no Prefect block {ref!r} (`prefect block ls` lists them;"
            f" `prefect block create {slug}` makes one)"
        ) from None
    if "notify" not in (found.block_schema.capabilities if found.block_schema else []):
        raise ParamsError(f"alerts.block: {ref!r} is a {slug} block, which cannot notify")
    return found


def same(found, wanted) -> bool:
    """An automation on the server already says what `wanted` says (trigger ids aside)."""
    from prefect.events.schemas.automations import AutomationCore

    skip = {"trigger": {"id"}, "owner_resource": True}
    ours = wanted.model_dump(mode="json", exclude=skip)
    theirs = AutomationCore.model_validate(found.model_dump()).model_dump(mode="json", exclude=skip)
    return ours == theirs


def keep(client, wanted) -> str:
    """Create, update or leave one automation, by name; delete its duplicates."""
    found, *duplicates = client.read_automations_by_name(wanted.name) or [None]
    for extra in duplicates:
        client.delete_automation(extra.id)
    if found is None:
        client.create_automation(wanted)
        return "created"
    if same(found, wanted):
        return "unchanged" if not duplicates else f"unchanged ({len(duplicates)} duplicate removed)"
    client.update_automation(found.id, wanted)
    return "updated"


def ours(client, artifact: str) -> list:
    prefix = name_of(artifact, "")
    return [a for a in client.read_automations() if a.name.startswith(prefix)]


def apply(artifact: str, p: AlertsParams) -> list[str]:
    """Bring the server's automations for `artifact` in line with `p`: one line per change."""
    from prefect import get_client
    from prefect.settings import PREFECT_UI_URL

    lines = []
    with get_client(sync_client=True) as client:
        block = notification_block(client, p.block)
        for key in p.on:
            wanted = automation(ALERTS[key], artifact, p, block.id, PREFECT_UI_URL.value())
            lines.append(f"{keep(client, wanted):<10} {wanted.name} (on {ALERTS[key].expect})")
        names = {name_of(artifact, key) for key in p.on}
        for old in ours(client, artifact):
            if old.name not in names:
                client.delete_automation(old.id)
                lines.append(f"{'removed':<10} {old.name} (not in alerts.on)")
    return lines


def remove(artifact: str) -> list[str]:
    """Delete every trainflow alert of `artifact`."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        found = ours(client, artifact)
        for old in found:
            client.delete_automation(old.id)
    return [f"{'removed':<10} {old.name}" for old in found]
