// Typesets TeX with MathJax 3 (the renderer JupyterLab uses) and reports the formulas it rejects.
// Reads a JSON list of {"tex": "...", "display": true|false} on stdin; prints a JSON list with
// one entry per formula: null when it typeset, else MathJax's error message.
const {mathjax} = require("mathjax-full/js/mathjax.js");
const {TeX} = require("mathjax-full/js/input/tex.js");
const {SVG} = require("mathjax-full/js/output/svg.js");
const {liteAdaptor} = require("mathjax-full/js/adaptors/liteAdaptor.js");
const {RegisterHTMLHandler} = require("mathjax-full/js/handlers/html.js");
const {AllPackages} = require("mathjax-full/js/input/tex/AllPackages.js");

RegisterHTMLHandler(liteAdaptor());
// Without 'noerrors' and 'noundefined', MathJax turns a bad formula into an error node
// instead of guessing; formatError makes that error ours to report.
const packages = AllPackages.filter((name) => !["noerrors", "noundefined"].includes(name));
const tex = new TeX({packages, formatError: (_jax, err) => { throw err; }});
const document = mathjax.document("", {InputJax: tex, OutputJax: new SVG({fontCache: "none"})});

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map(({tex: source, display}) => {
    try {
      document.convert(source, {display});
      return null;
    } catch (err) {
      return String(err.message || err);
    }
  });
  process.stdout.write(JSON.stringify(results));
});
