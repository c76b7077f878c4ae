/* caprobe report (fleet_html.c): the filter of the targets by rule, severity, change and text.
   It reads the page's own elements, their data- attributes and text, and the URL fragment; it
   writes only their hidden attributes, the open attribute of a list a link leads to, the count
   and the fragment. Nothing from a scan is ever
   run or parsed as markup. Without it the form stays hidden and every target is shown. */
(function () {
  "use strict";
  var form = document.getElementById("filter");
  if (!form) {
    return;
  }
  var el = form.elements;
  var targets = Array.prototype.slice.call(document.querySelectorAll("article.t"));
  var lists = Array.prototype.slice.call(document.querySelectorAll("details.list"));
  var count = document.getElementById("shown");
  var texts = new Map(); /* element: its text in lower case, made on first use */
  var keys = ["rule", "sev", "chg", "q"];
  var timer = 0;

  function lower(node) {
    var t = texts.get(node);
    if (t === undefined) {
      t = node.textContent.toLowerCase();
      texts.set(node, t);
    }
    return t;
  }

  function listIds(a) {
    var v = a.getAttribute("data-l");
    return v ? v.split(" ") : [];
  }

  function value(name) {
    return el[name] ? el[name].value : "";
  }

  /* A target with a finding of the rule, severity and change chosen, and the text somewhere in
     it or in one of its lists. */
  function matches(a, r, s, c, q) {
    if (r || s || c) {
      var found = false;
      var items = a.querySelectorAll("li[data-r]");
      for (var i = 0; i < items.length && !found; i++) {
        var li = items[i];
        found = (!r || li.getAttribute("data-r") === r) &&
          (!s || li.getAttribute("data-s") === s) && (!c || li.getAttribute("data-c") === c);
      }
      if (!found) {
        return false;
      }
    }
    if (!q || lower(a).indexOf(q) !== -1) {
      return true;
    }
    return listIds(a).some(function (id) {
      var l = document.getElementById("l-" + id);
      return l !== null && lower(l).indexOf(q) !== -1;
    });
  }

  function apply() {
    var r = value("rule"), s = value("sev"), c = value("chg");
    var q = value("q").trim().toLowerCase();
    var filtering = Boolean(r || s || c || q);
    var shown = 0, used = new Set();
    targets.forEach(function (a) {
      var ok = !filtering || matches(a, r, s, c, q);
      a.hidden = !ok;
      if (ok) {
        shown++;
        listIds(a).forEach(function (id) { used.add("l-" + id); });
      }
    });
    lists.forEach(function (l) { l.hidden = filtering && !used.has(l.id); });
    count.textContent = filtering ? shown + " of " + targets.length + " targets shown"
      : targets.length + " targets";
    var state = new URLSearchParams();
    keys.forEach(function (k) {
      if (value(k).trim()) {
        state.set(k, value(k).trim());
      }
    });
    var frag = state.toString();
    if (frag || location.hash.indexOf("=") !== -1) {
      try {
        history.replaceState(null, "", frag ? "#" + frag : location.pathname + location.search);
      } catch (e) {
        /* a browser that refuses it for a file: the filter works all the same */
      }
    }
  }

  function choose(select, v) {
    if (!select) {
      return;
    }
    select.value = "";
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === v) {
        select.value = v;
      }
    }
  }

  /* #rule=R&sev=S&chg=C&q=TEXT, as apply writes it; a fragment without '=' is an anchor. */
  function fromFragment() {
    var h = location.hash.slice(1);
    if (h.indexOf("=") === -1) {
      return false;
    }
    var p = new URLSearchParams(h);
    choose(el.rule, p.get("rule") || "");
    choose(el.sev, p.get("sev") || "");
    choose(el.chg, p.get("chg") || "");
    el.q.value = p.get("q") || "";
    return true;
  }

  function clear() {
    keys.forEach(function (k) {
      if (el[k]) {
        el[k].value = "";
      }
    });
    apply();
  }

  /* The element a fragment without '=' names (#t12, a target; #l-..., a list): shown if the
     filter hid it, opened if it is a list (following a link to a closed details element does
     not open it), and scrolled to. */
  function follow() {
    var to = document.getElementById(location.hash.slice(1));
    if (!to) {
      return;
    }
    if (to.hidden) {
      clear();
    }
    if (to.matches("details.list")) {
      to.open = true;
    }
    to.scrollIntoView();
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  form.addEventListener("change", apply);
  form.addEventListener("input", function (e) {
    if (e.target === el.q) {
      clearTimeout(timer);
      timer = setTimeout(apply, 150);
    }
  });
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  window.addEventListener("hashchange", function () {
    if (fromFragment()) {
      apply();
    } else {
      follow();
    }
  });
  /* a list's link clicked again once its list was closed: the fragment is the same, so no
     hashchange comes */
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[href^='#l-']") : null;
    if (a && a.getAttribute("href") === location.hash) {
      follow();
    }
  });
  /* the rows of "Findings by rule": show that rule and severity */
  document.querySelectorAll("a[data-r]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      choose(el.rule, a.getAttribute("data-r"));
      choose(el.sev, a.getAttribute("data-s") || "");
      choose(el.chg, "");
      el.q.value = "";
      apply();
      form.scrollIntoView();
    });
  });
  form.hidden = false;
  if (fromFragment()) {
    apply();
  } else {
    count.textContent = targets.length + " targets";
    follow();
  }
}());
