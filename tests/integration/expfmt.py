"""A strict reader of the metrics caprobe writes (docs/metrics.md): OpenMetrics 1.0 text that is
also Prometheus text 0.0.4. Written from the two specifications, independently of caprobe's
renderer, so that the tests hold the output to the formats and not to itself.

parse(text) returns a Doc: families (name -> {"type", "help", "unit", "samples"}), samples as
(name, labels dict, value float), and problems: every rule of either format the text breaks
(a family's samples not together, a series twice, a label value escape neither format knows,
a missing '# EOF', a UNIT that is not the name's suffix, ...). An empty list is a valid text.
"""

import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset",
         "gaugehistogram"}


class Doc:
    def __init__(self):
        self.families = {}
        self.samples = []
        self.problems = []

    def series(self, name, **want):
        """Samples of name whose labels include want (values as strings)."""
        return [(labels, v) for n, labels, v in self.samples
                if n == name and all(labels.get(k) == str(x) for k, x in want.items())]

    def one(self, name, **want):
        """The value of the one sample of name with want, or None (none, or more than one)."""
        s = self.series(name, **want)
        return s[0][1] if len(s) == 1 else None


def _label_value(s, i, problems, lineno):
    """Read a quoted value at s[i] (the opening quote); returns (value, index after the close)."""
    out = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(s):
                break
            e = s[i + 1]
            if e == "\\":
                out.append("\\")
            elif e == '"':
                out.append('"')
            elif e == "n":
                out.append("\n")
            else:
                problems.append("line %d: escape \\%s in a label value is in neither format"
                                % (lineno, e))
                out.append(e)
            i += 2
            continue
        if c == "\n":
            problems.append("line %d: a raw line feed in a label value" % lineno)
        out.append(c)
        i += 1
    problems.append("line %d: a label value does not end" % lineno)
    return "".join(out), len(s)


def _labels(s, i, problems, lineno):
    """Read {a="x",b="y"} from s[i]; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while i < len(s) and s[i] != "}":
        m = LABEL.match(s, i)
        if not m:
            problems.append("line %d: not a label name at column %d" % (lineno, i + 1))
            return labels, len(s)
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            problems.append("line %d: expected =\" after label %s" % (lineno, name))
            return labels, len(s)
        value, i = _label_value(s, i + 1, problems, lineno)
        if name in labels:
            problems.append("line %d: label %s twice" % (lineno, name))
        if name.startswith("__"):
            problems.append("line %d: label %s is reserved" % (lineno, name))
        labels[name] = value
        if i < len(s) and s[i] == ",":
            i += 1
            if i < len(s) and s[i] == "}":
                problems.append("line %d: a trailing comma (OpenMetrics has none)" % lineno)
    if i >= len(s):
        problems.append("line %d: labels do not end" % lineno)
        return labels, len(s)
    return labels, i + 1


def parse(text):
    doc = Doc()
    p = doc.problems
    if not text.endswith("\n"):
        p.append("the text does not end with a line feed")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    seen_eof = False
    current = None   # the family being read
    done = set()     # families that are over: their name may not come again
    series = set()

    def enter(name, lineno, what):
        """The family of a line about name; it must be the current one or a new one."""
        nonlocal current
        if name != current:
            if name in done:
                p.append("line %d: %s of %s after another family's" % (lineno, what, name))
            if current:
                done.add(current)
            current = name
        return doc.families.setdefault(name, {"type": None, "help": None, "unit": None,
                                              "samples": 0})
    for lineno, line in enumerate(lines, 1):
        if seen_eof:
            p.append("line %d: text after '# EOF'" % lineno)
            break
        if line == "# EOF":
            seen_eof = True
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE", "UNIT"):
                p.append("line %d: a comment OpenMetrics does not allow: %r" % (lineno, line))
                continue
            kind, name = parts[1], parts[2]
            rest = parts[3] if len(parts) > 3 else ""
            if not NAME.fullmatch(name):
                p.append("line %d: bad metric name %r" % (lineno, name))
            fam = enter(name, lineno, kind)
            if fam["samples"]:
                p.append("line %d: %s of %s after its samples" % (lineno, kind, name))
            key = kind.lower()
            if fam[key] is not None:
                p.append("line %d: a second %s line for %s" % (lineno, kind, name))
            if kind == "HELP" and ("\\" in rest or '"' in rest):
                p.append("line %d: HELP with a backslash or quote (the formats escape it apart)"
                         % lineno)
            if kind == "TYPE" and rest not in TYPES:
                p.append("line %d: unknown type %r" % (lineno, rest))
            if kind == "TYPE" and rest not in ("counter", "gauge", "histogram", "summary"):
                p.append("line %d: type %r is not in both formats" % (lineno, rest))
            if kind == "UNIT" and not name.endswith("_" + rest):
                p.append("line %d: the unit %r is not the suffix of %s" % (lineno, rest, name))
            fam[key] = rest
            continue
        m = NAME.match(line)
        if not m:
            p.append("line %d: not a sample: %r" % (lineno, line))
            continue
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i, p, lineno)
        if line[i:i + 1] != " ":
            p.append("line %d: expected one space before the value" % lineno)
        value_text = line[i + 1:]
        try:
            value = float(value_text)
        except ValueError:
            p.append("line %d: value %r is not a number" % (lineno, value_text))
            value = math.nan
        fam_name = name
        if name not in doc.families and name.endswith("_total") and name[:-6] in doc.families:
            fam_name = name[:-6]  # an OpenMetrics counter
        enter(fam_name, lineno, "a sample")["samples"] += 1
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            p.append("line %d: series %s%s twice" % (lineno, name, labels))
        series.add(key)
        doc.samples.append((name, labels, value))
    if not seen_eof:
        p.append("no '# EOF' at the end (OpenMetrics requires it)")
    return doc


def quote(value):
    """A label value written as both formats (and PromQL) want it."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(name, labels):
    return "%s{%s}" % (name, ",".join("%s=%s" % (k, quote(v)) for k, v in sorted(labels.items())))
