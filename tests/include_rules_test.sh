#!/usr/bin/env bash
# The include rules of docs/ARCHITECTURE.md, checked: each folder of src/ includes only the folders listed for it
# (tests, fakes and test servers may include more), and nothing outside src/embed/ includes embed/use_lite/.
# Usage: include_rules_test.sh SRC_DIR. Prints every include that breaks a rule; exit 1 if there is one.
set -euo pipefail
src=${1:?usage: include_rules_test.sh SRC_DIR}

declare -A allowed=(
  [core]="core"
  [net]="core net"
  [transforms]="core transforms"
  [extract]="core transforms extract"
  [embed]="core net embed"
  [store]="core store"
  [platforms]="core net platforms"
  [pipeline]="core net transforms extract embed store platforms pipeline"
  [app]="core net transforms extract embed store platforms pipeline app"
  [service]="core net transforms extract embed store platforms pipeline app service"
  [cli]="core net transforms extract embed store platforms pipeline app service cli"
)

broken=0
for folder in "${!allowed[@]}"; do
  [[ -d "$src/$folder" ]] || { echo "no folder $src/$folder: update the rules"; broken=1; continue; }
  while IFS= read -r -d '' file; do
    case "$file" in
      *_test.cc | */fake_*.h | */testing/* | */fuzz/*) continue ;;
    esac
    while IFS= read -r line; do
      number=${line%%:*}
      target=${line#*:}
      included=${target#*\"}
      included=${included%%/*}
      if [[ " ${allowed[$folder]} " != *" $included "* ]]; then
        echo "${file#"$src"/}:$number: $folder/ may not include $included/ (${target})"
        broken=1
      fi
      if [[ "$target" == *'"embed/use_lite/'* && "$folder" != embed ]]; then
        echo "${file#"$src"/}:$number: only embed/ includes embed/use_lite/"
        broken=1
      fi
    done < <(grep -nE '^#include "[a-z_]+/' "$file" || true)
  done < <(find "$src/$folder" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
done

for dir in "$src"/*/; do
  folder=$(basename "$dir")
  [[ -n "${allowed[$folder]+set}" ]] || { echo "src/$folder/ has no include rule: add it here and to docs/ARCHITECTURE.md"; broken=1; }
done

if ((broken)); then exit 1; fi
echo "include rules hold for ${#allowed[@]} folders"
