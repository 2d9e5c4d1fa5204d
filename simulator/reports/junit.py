"""JUnit XML: one testsuite per scenario file, one testcase per scenario; a failure carries
the mismatches and the evidence, a skipped scenario `<skipped message=REASON/>`."""

from __future__ import annotations

from xml.etree import ElementTree
from collections import defaultdict
from pathlib import Path

from simulator.reports.evidence import evidence
from simulator.runner import Outcome


def junit_xml(outcomes: list[Outcome]) -> str:
    by_file: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_file[o.loaded.id.split("::")[0]].append(o)
    root = ElementTree.Element("testsuites", tests=str(len(outcomes)),
                      failures=str(sum(o.failed for o in outcomes)),
                      skipped=str(sum(o.skipped is not None for o in outcomes)),
                      time=f"{sum(o.seconds for o in outcomes):.3f}")
    for file, items in by_file.items():
        suite = ElementTree.SubElement(root, "testsuite", name=file, tests=str(len(items)),
                              failures=str(sum(o.failed for o in items)),
                              skipped=str(sum(o.skipped is not None for o in items)),
                              time=f"{sum(o.seconds for o in items):.3f}")
        for o in items:
            case = ElementTree.SubElement(suite, "testcase", classname=file.replace("/", ".").removesuffix(".yaml"),
                                 name=o.loaded.scenario.name, time=f"{o.seconds:.3f}",
                                 file=file, line=str(o.loaded.origin.line))
            ElementTree.SubElement(case, "properties")
            props = case.find("properties")
            ElementTree.SubElement(props, "property", name="driver", value=o.driver)
            if o.skipped is not None:
                ElementTree.SubElement(case, "skipped", message=o.skipped)
            if o.failed:
                fail = ElementTree.SubElement(case, "failure", message=o.failures[0])
                fail.text = "\n".join(o.failures + [""] + evidence(o))
            if o.result.trace:
                ElementTree.SubElement(case, "system-out").text = "\n".join(o.result.trace)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, outcomes: list[Outcome]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(outcomes), encoding="utf-8")
