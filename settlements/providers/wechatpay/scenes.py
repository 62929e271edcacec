"""Transfer scenes (转账场景) as WeChat Pay checks them: which report infos and which receipt wording
(`user_recv_perception`) each scene we support needs. WeChat refuses a transfer bill without its scene's
report infos (PARAM_ERROR), so a merchant's settings are checked against these rules when they are
saved and again before any money is reserved (docs/providers.md, transfer section).

Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SceneRule:
    scene_id: str
    name: str
    report_info_types: tuple[str, ...]  # each must be reported once, with a non-empty content
    perceptions: frozenset[str]  # what the payee may be shown as the reason of the payment


# pay.weixin.qq.com/doc/v3/merchant/4013774588 (转账场景); 4012716434 (发起转账).
SCENES: Mapping[str, SceneRule] = {
    "1000": SceneRule("1000", "现金营销", ("活动名称", "奖励说明"), frozenset({"现金奖励", "活动奖励"})),
    "1005": SceneRule("1005", "佣金报酬", ("岗位类型", "报酬说明"), frozenset({"劳务报酬", "报酬"})),
}
DEFAULT_SCENE_ID = "1005"  # commission paid to promoters is 佣金报酬
INFO_CONTENT_MAX = 32  # characters WeChat accepts in one info_content


def scene_problems(
    scene_id: str, report_infos: Iterable[Mapping[str, object]], perception: str
) -> dict[str, list[str]]:
    """What is wrong with a scene setting, by field (empty when WeChat would accept it)."""
    rule = SCENES.get(scene_id)
    if rule is None:
        return {"transfer_scene_id": [f"One of {', '.join(sorted(SCENES))}."]}
    problems: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    info_problems = []
    for info in report_infos:
        info_type, content = info.get("info_type"), info.get("info_content")
        if not isinstance(info_type, str) or info_type not in rule.report_info_types:
            info_problems.append(f"Scene {scene_id} reports only {', '.join(rule.report_info_types)}.")
        elif info_type in seen:
            info_problems.append(f"{info_type} is reported twice.")
        elif not isinstance(content, str) or not content.strip() or len(content) > INFO_CONTENT_MAX:
            info_problems.append(f"{info_type} needs a content of 1 to {INFO_CONTENT_MAX} characters.")
        else:
            seen[info_type] = content
    missing = [t for t in rule.report_info_types if t not in seen and not any(t in p for p in info_problems)]
    if missing:
        info_problems.append(f"Scene {scene_id} ({rule.name}) needs {', '.join(missing)}.")
    if info_problems:
        problems["transfer_scene_report_infos"] = info_problems
    if perception not in rule.perceptions:
        problems["transfer_user_recv_perception"] = [f"One of {', '.join(sorted(rule.perceptions))}."]
    return problems


def report_info_pairs(report_infos: Iterable[Mapping[str, object]]) -> tuple[tuple[str, str], ...]:
    """The infos as (info_type, info_content) pairs, in the order they are stored."""
    return tuple((str(info["info_type"]), str(info["info_content"])) for info in report_infos)
