/* replicalab tutorials: a Run button on every python and pycon block.
 *
 * Clicking Run opens an editable copy of the block's code under it and runs it in this
 * browser with Pyodide, served from this site (playground/, vendored at build time; no
 * CDN). The page's earlier blocks run first, once, in one namespace per page, so a block
 * sees what the page defined before it. Output, errors and any SVG a block returns appear
 * under the code. Without JavaScript the page is unchanged: nothing here is needed to read it.
 */
(function () {
  "use strict";
  var here = document.currentScript && document.currentScript.src;
  if (!here) { return; }
  var root = new URL("../playground/", here);

  /* Python: run a block's source in a namespace, echoing expression values like a REPL
     (every expression statement of a session, the last one of a script). */
  var RUNNER = [
    "import ast as _ast",
    "def _replicalab_run(source, ns, session):",
    "    tree = _ast.parse(source, '<block>')",
    "    pictures = []",
    "    for i, node in enumerate(tree.body):",
    "        if isinstance(node, _ast.Expr) and (session or i == len(tree.body) - 1):",
    "            value = eval(compile(_ast.Expression(node.value), '<block>', 'eval'), ns)",
    "            if value is None:",
    "                continue",
    "            print(repr(value))",
    "            svg = value if isinstance(value, str) and value.lstrip().startswith('<svg') else None",
    "            if svg is None and hasattr(value, '_repr_svg_'):",
    "                svg = value._repr_svg_()",
    "            if svg:",
    "                pictures.append(svg)",
    "        else:",
    "            exec(compile(_ast.Module([node], []), '<block>', 'exec'), ns)",
    "    return pictures"
  ].join("\n");

  var booting = null;
  var sink = null;  // where Python's stdout/stderr go now

  function loadScript(src) {
    return new Promise(function (done, fail) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = done;
      s.onerror = function () { fail(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function boot() {
    if (booting) { return booting; }
    booting = (async function () {
      var index = new URL("pyodide/", root).href;
      await loadScript(index + "pyodide.js");
      var py = await window.loadPyodide({
        indexURL: index, packageBaseUrl: index,
        stdout: function (line) { if (sink) { sink.push(line + "\n"); } },
        stderr: function (line) { if (sink) { sink.push(line + "\n"); } }
      });
      var manifest = await (await fetch(new URL("wheels/wheels.json", root))).json();
      for (var i = 0; i < manifest.wheels.length; i++) {
        var url = new URL("wheels/" + manifest.wheels[i], root);
        var data = await (await fetch(url)).arrayBuffer();
        py.unpackArchive(data, "wheel");
      }
      py.runPython(RUNNER);
      return {py: py, run: py.globals.get("_replicalab_run"), ns: py.runPython("{'__name__': '__main__'}")};
    })();
    return booting;
  }

  /* The code of a highlighted block: a session loses its prompts and its shown output. */
  function codeOf(block) {
    var text = block.querySelector("code").textContent.replace(/\n$/, "");
    if (!block.classList.contains("language-pycon")) { return text; }
    return text.split("\n").filter(function (line) {
      return /^(>>>|\.\.\.)( |$)/.test(line);
    }).map(function (line) { return line.slice(4); }).join("\n");
  }

  var blocks = [];
  var ranUpTo = -1;  // the page's blocks 0..ranUpTo have run, in order

  function source(entry) { return entry.editor ? entry.editor.value : entry.code; }

  async function runBlock(entry) {
    var out = entry.output, pictures = entry.pictures;
    entry.panel.setAttribute("data-state", "running");
    out.textContent = booting ? "Running…" : "Starting Python in this page (the first run loads about 15 MB)…";
    pictures.textContent = "";
    var lines = [];
    try {
      var env = await boot();
      for (var k = ranUpTo + 1; k < entry.index; k++) {
        sink = [];
        try {
          env.run(source(blocks[k]), env.ns, blocks[k].session).destroy();
        } catch (err) {
          throw new Error("an earlier block on this page (block " + (k + 1) + ") failed:\n" +
                          String(err.message || err));
        } finally { ranUpTo = k; }
      }
      sink = lines;
      var shown = env.run(source(entry), env.ns, entry.session);
      shown.toJs().forEach(function (svg) {
        var img = document.createElement("img");
        img.alt = "SVG returned by the block";
        img.src = URL.createObjectURL(new Blob([svg], {type: "image/svg+xml"}));
        pictures.appendChild(img);
      });
      shown.destroy();
      if (entry.index > ranUpTo) { ranUpTo = entry.index; }
      out.textContent = lines.join("") || "(no output)";
      entry.panel.setAttribute("data-state", "done");
    } catch (err) {
      out.textContent = lines.join("") + String(err.message || err);
      entry.panel.setAttribute("data-state", "error");
    } finally {
      sink = null;
    }
  }

  function open(entry) {
    if (!entry.panel) {
      var panel = document.createElement("div");
      panel.className = "playground";
      var editor = document.createElement("textarea");
      editor.value = entry.code;
      editor.spellcheck = false;
      editor.rows = Math.min(24, entry.code.split("\n").length + 1);
      editor.setAttribute("aria-label", "code to run (editable)");
      var again = document.createElement("button");
      again.type = "button";
      again.className = "md-button playground-run";
      again.textContent = "Run";
      again.addEventListener("click", function () { runBlock(entry); });
      var out = document.createElement("pre");
      out.className = "playground-output";
      var pictures = document.createElement("div");
      pictures.className = "playground-pictures";
      panel.append(editor, again, out, pictures);
      entry.button.parentNode.insertAdjacentElement("afterend", panel);
      entry.panel = panel; entry.editor = editor; entry.output = out; entry.pictures = pictures;
    }
    return runBlock(entry);
  }

  var article = document.querySelector("article.md-content__inner");
  if (!article) { return; }
  article.querySelectorAll("div.language-python.highlight, div.language-pycon.highlight")
    .forEach(function (block) {
      var entry = {index: blocks.length, block: block, code: codeOf(block),
                   session: block.classList.contains("language-pycon")};
      var bar = document.createElement("div");
      bar.className = "playground-bar";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "playground-open";
      button.textContent = "▶ Run";
      button.title = "Run this block here, in your browser (the page's earlier blocks run first)";
      button.addEventListener("click", function () { open(entry); });
      bar.appendChild(button);
      block.insertAdjacentElement("afterend", bar);
      entry.button = button;
      blocks.push(entry);
    });
})();
