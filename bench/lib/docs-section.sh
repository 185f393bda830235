# shellcheck shell=bash
# Sourced by the benchmarks: each owns one section of docs/BENCHMARKS.md, between
# "<!-- NAME:begin -->" and "<!-- NAME:end -->", and replaces only that.

# replace_docs_section DOCS NAME CONTENT: CONTENT between NAME's markers in DOCS (appended with
# its markers when DOCS has none yet); the rest of DOCS is left as it is.
replace_docs_section() {
  local docs=$1 name=$2 content=$3
  NEW=$content BEGIN="<!-- $name:begin -->" END="<!-- $name:end -->" awk '
    $0 == ENVIRON["BEGIN"] {skip = 1; print; print ENVIRON["NEW"]; next}
    $0 == ENVIRON["END"] {skip = 0; done = 1}
    !skip {print}
    END {if (!done) {print ""; print ENVIRON["BEGIN"]; print ENVIRON["NEW"]; print ENVIRON["END"]}}
  ' "$docs" >"$docs.tmp"
  mv "$docs.tmp" "$docs"
}
