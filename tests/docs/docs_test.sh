#!/usr/bin/env bash
# The repository carries its own specification (docs/). Fails when a tracked
# file points at a document outside the repository again, or at a docs/ file
# or a docs/CONTRACT.md section that does not exist, or when docs/FORMAT.md
# and docs/CONTRACT.md miss an op, an allowance or a quirk the code has.
#
#   tests/docs/docs_test.sh SOURCE_DIR
set -uo pipefail

src=${1:?usage: docs_test.sh SOURCE_DIR}
cd "$src" || exit 2
self=tests/docs/docs_test.sh
fail=0
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

# The files to check: what git tracks, or every file when there is no git
# (a source tarball). Never the build tree.
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(git ls-files -z)
else
  while IFS= read -r -d '' f; do files+=("${f#./}"); done < \
    <(find . -type f -not -path './.git/*' -not -path './build*' -print0)
fi
text=()
while IFS= read -r f; do
  [ "$f" = "$self" ] || text+=("$f")
done < <(printf '%s\0' "${files[@]}" | xargs -0 grep -Il . 2>/dev/null)
[ ${#text[@]} -gt 0 ] || { echo "FAIL: no files found under $src"; exit 1; }

# 1. Documents and paths outside the repository. (Written so that this file
#    does not match itself under a plain git grep.)
outside='SEMANTICS[.]md|DESIGN[.]md|TRIAGE[.]md|STYLE[.]md|[.][.]/share[d]|/wor[k]/'
while IFS= read -r hit; do
  bad "reference outside the repository: $hit"
done < <(grep -nE "$outside" "${text[@]}")

# 2. Spec documents named without their docs/ directory (docs/*.md may link
#    each other relatively: "](NAME.md)").
for doc in docs/*.md; do
  name=$(basename "$doc")
  while IFS= read -r hit; do
    bad "$name without docs/: $hit"
  done < <(grep -nE "(^|[^/A-Za-z_])${name//./\\.}" "${text[@]}" | grep -vE "^docs/[^:]*:[0-9]+:.*\]\(${name//./\\.}\)")
done

# 3. docs/X.md references must exist. Our documents are named in capitals
#    (docs/FORMAT.md); lower-case docs/ paths belong to other projects
#    ("AFL++ docs/custom_mutators.md").
while IFS=: read -r file ref; do
  [ -f "$ref" ] || bad "$file names $ref, which does not exist"
done < <(grep -oE 'docs/[A-Z][A-Z0-9_]*\.md' "${text[@]}" | sort -u)
while IFS=: read -r file ref; do
  ref=${ref#](}; ref=${ref%)}
  [ -f "docs/$ref" ] || bad "$file links $ref, which does not exist in docs/"
done < <(grep -oE '\]\([A-Za-z0-9_-]+\.md\)' docs/*.md | sort -u)

# 4. Every "§N" or "§N.M" cited in a file that cites docs/CONTRACT.md (and in
#    docs/ itself) is a section of docs/CONTRACT.md.
sections=$(grep -oE '^#{2,3} [0-9]+(\.[0-9]+)?\.? ' docs/CONTRACT.md | grep -oE '[0-9]+(\.[0-9]+)?')
cites=()
for f in "${text[@]}"; do
  case "$f" in docs/*) cites+=("$f") ;; *) grep -q 'docs/CONTRACT\.md' "$f" && cites+=("$f") ;; esac
done
while IFS=: read -r file sec; do
  sec=${sec#§}
  grep -qxF "$sec" <<<"$sections" || bad "$file cites docs/CONTRACT.md §$sec, which has no such section"
done < <(grep -oE '§[0-9]+(\.[0-9]+)*' "${cites[@]}" | sort -u)

# 5. docs/FORMAT.md has a row for every op of the op table.
ops=$(grep -oE '\{OpKind::k[A-Za-z]+, "[a-z_]+"' prog/op_table.cc | grep -oE '"[a-z_]+"' | tr -d '"')
[ -n "$ops" ] || bad "no ops found in prog/op_table.cc"
for op in $ops; do
  grep -qF "| \`$op\` |" docs/FORMAT.md || bad "docs/FORMAT.md has no row for op '$op'"
done

# 6. docs/CONTRACT.md names every allowance and quirk of model/allowance.cc.
names() { sed -n "/$1\[\] = {/,/};/p" model/allowance.cc | grep -oE '"[a-z_-]+"' | tr -d '"'; }
for n in $(names kAllowanceNames) $(names kQuirkNames); do
  grep -qF "\`$n\`" docs/CONTRACT.md || bad "docs/CONTRACT.md does not name '$n' (model/allowance.cc)"
done
[ -n "$(names kQuirkNames)" ] || bad "no quirk names found in model/allowance.cc"

# 7. The steps of docs/ADDING_AN_OP.md that no compiler checks: every op is
# named in docs/CONTRACT.md, has a model test with a "=>" result
# (tests/model/), and runs in a corpus program (corpus/, which the suite runs
# on the host and in both guests, and as C reproducers).
for op in $ops; do
  grep -qF "\`$op" docs/CONTRACT.md || bad "docs/CONTRACT.md does not name op '$op' (docs/ADDING_AN_OP.md step 3)"
  grep -qhE "^(p[0-9]+: )?$op( |\$).*=>" tests/model/*.cc ||
    bad "no model test program in tests/model/ runs op '$op' with a '=>' result (docs/ADDING_AN_OP.md step 5)"
  grep -qhE "^(p[0-9]+: )?$op( |\$)" corpus/*.mmp corpus/quirks/*.mmp ||
    bad "no corpus program runs op '$op' (docs/ADDING_AN_OP.md step 5)"
done

[ $fail -eq 0 ] && echo "PASS: ${#text[@]} files"
exit $fail
