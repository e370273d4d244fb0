"""Where in a flow file an error is: the line an admin's editor highlights.

:func:`handlers.flowload.load_flows` reports errors by file, flow and step (and, for structural errors, the
path pydantic gives); this turns that into a line of the YAML text, from the parsed node tree (PyYAML keeps
each node's position), so the editor can point at ``next: nowhere`` itself rather than at the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

_QUOTED = re.compile(r"'([^']+)'")


def _compose(text: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return node


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                found: yaml.Node = value
                return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def _key_line(node: yaml.Node, name: str) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == name:
                return int(key.start_mark.line) + 1
    return None


def _by_id(node: yaml.Node | None, ident: str) -> yaml.Node | None:
    if not isinstance(node, yaml.SequenceNode):
        return None
    for item in node.value:
        found = _child(item, "id")
        if isinstance(found, yaml.ScalarNode) and found.value == ident:
            step: yaml.Node = item
            return step
    return None


def _scalar_line(node: yaml.Node, wanted: set[str]) -> int | None:
    """The first line inside ``node`` holding one of ``wanted`` as a value."""
    todo = [node]
    while todo:
        current = todo.pop(0)
        if isinstance(current, yaml.ScalarNode) and current.value in wanted:
            return int(current.start_mark.line) + 1
        if isinstance(current, yaml.MappingNode):
            todo += [v for _k, v in current.value]
        elif isinstance(current, yaml.SequenceNode):
            todo += list(current.value)
    return None


def locate(text: str, *, path: Sequence[str | int] = (), flow: str = "-", step: str = "-",
           problem: str = "") -> int | None:
    """The 1-based line of an error in ``text``, or None when the text does not parse.

    ``path`` (pydantic's location, e.g. ``("flows", 0, "steps", 2, "text", "en")``) wins: the deepest node that
    exists on it. Otherwise the flow and step named, narrowed to the value the problem quotes (the unknown
    target of a ``next:``, the unknown slot) when the step holds it.
    """
    root = _compose(text)
    if root is None:
        return None
    if path:
        node, line = root, int(root.start_mark.line) + 1
        for part in path:
            child = _child(node, part)
            kind = _child(node, "kind")
            if child is None and isinstance(kind, yaml.ScalarNode) and kind.value == part:
                continue  # pydantic names the step kind it chose ("ask") as a level of its own
            if child is None:
                # A missing field: the mapping it belongs in; an unknown one: its key.
                key = _key_line(node, str(part))
                return key if key is not None else line
            node, line = child, int(child.start_mark.line) + 1
        return line
    flow_node = _by_id(_child(root, "flows"), flow)
    if flow_node is None:
        return None
    step_node = _by_id(_child(flow_node, "steps"), step) if step != "-" else None
    where = step_node if step_node is not None else flow_node
    quoted = set(_QUOTED.findall(problem)) - {flow}
    if quoted:
        wanted = quoted | {f"flow:{q}" for q in quoted}
        if step_node is None and "start step" in problem:
            return _key_line(flow_node, "start") or int(flow_node.start_mark.line) + 1
        found = _scalar_line(where, wanted)
        if found is not None:
            return found
    return int(where.start_mark.line) + 1
