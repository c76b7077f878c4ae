#!/usr/bin/env python3
"""Check caprobe SARIF files: valid against the OASIS SARIF 2.1.0 JSON schema, plus what the
schema cannot say (every result's ruleId and ruleIndex name the same rule of tool.driver.rules,
notification descriptors resolve, every location has the artifact URI GitHub code scanning needs).

    check_sarif.py FILE.sarif... [--schema SCHEMA.json]

The schema defaults to fixtures/golden/sarif-schema-2.1.0.json of this repository (a copy of
sarif-2.1.0.json from the npm package @microsoft/sarif-multitool-linux 5.7.0). Needs the
jsonschema module (Debian: python3-jsonschema). Exit status 0 when every file passes, 1 when
one does not, 2 on usage errors.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "..", "fixtures", "golden", "sarif-schema-2.1.0.json")


def semantic_errors(doc):
    """What the JSON schema does not check; yields messages."""
    for r, run in enumerate(doc.get("runs", [])):
        driver = run.get("tool", {}).get("driver", {})
        rules = driver.get("rules", [])
        ids = [rule.get("id") for rule in rules]
        if len(set(ids)) != len(ids):
            yield "runs[%d]: duplicate rule ids" % r
        notes = driver.get("notifications", [])

        def locations(where, obj):
            for k, loc in enumerate(obj.get("locations", [])):
                uri = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
                if not uri or ":" in uri.split("/")[0]:
                    yield "%s.locations[%d]: no relative artifactLocation.uri" % (where, k)

        for i, res in enumerate(run.get("results", [])):
            where = "runs[%d].results[%d]" % (r, i)
            idx, rid = res.get("ruleIndex"), res.get("ruleId")
            if idx is None or not 0 <= idx < len(rules) or rules[idx].get("id") != rid:
                yield "%s: ruleId %r and ruleIndex %r disagree" % (where, rid, idx)
            if not res.get("locations"):
                yield "%s: no location" % where
            yield from locations(where, res)
        for v, inv in enumerate(run.get("invocations", [])):
            for i, n in enumerate(inv.get("toolExecutionNotifications", [])):
                where = "runs[%d].invocations[%d].toolExecutionNotifications[%d]" % (r, v, i)
                d = n.get("descriptor")
                if d is not None:
                    k = d.get("index")
                    if k is None or not 0 <= k < len(notes) or notes[k].get("id") != d.get("id"):
                        yield "%s: descriptor %r does not resolve" % (where, d)
                yield from locations(where, n)


def check(path, validator):
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        return ["%s: not readable as UTF-8 JSON: %s" % (path, e)]
    errors = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        loc = "/".join(str(p) for p in e.absolute_path) or "(root)"
        errors.append("%s: %s: %s" % (path, loc, e.message))
    errors += ["%s: %s" % (path, m) for m in semantic_errors(doc)]
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", metavar="FILE.sarif")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA)
    args = ap.parse_args()
    try:
        import jsonschema
    except ImportError:
        print("check_sarif: the jsonschema module is missing (apt-get install python3-jsonschema)",
              file=sys.stderr)
        return 2
    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
    except (OSError, ValueError) as e:
        print("check_sarif: cannot read the schema %s: %s" % (args.schema, e), file=sys.stderr)
        return 2
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    failed = 0
    for path in args.files:
        errors = check(path, validator)
        for e in errors:
            print(e)
        if errors:
            failed += 1
        else:
            print("%s: valid SARIF 2.1.0" % path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
