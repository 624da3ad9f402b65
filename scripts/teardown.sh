#!/usr/bin/env bash
# Removes everything one stage deployed: scripts/teardown.sh STAGE
# The SecureString parameter (made by `secbench provision`, not by the stack) first, then the
# stack (function, role, log group, secret, key alias; the key is scheduled for deletion after
# the template's KeyDeletionWindowDays, the secret after Secrets Manager's recovery window),
# then the stage file. Says what it removed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -eq 1 ] || { echo "usage: scripts/teardown.sh STAGE" >&2; exit 2; }
stage="$1"
file="$root/.secbench/stages/$stage.toml"
[ -f "$file" ] || { echo "teardown.sh: no stage file $file: was stage $stage deployed from this checkout?" >&2; exit 1; }
field() { sed -n "s/^$1 = \"\(.*\)\"/\1/p" "$file"; }
region="$(field region)"; stack="$(field stack_name)"; parameter="$(field parameter_name)"
[ -n "$stack" ] || stack="secbench-$stage"
if [ -n "$parameter" ]; then
  if aws ssm delete-parameter --name "$parameter" --region "$region" 2>/dev/null; then
    echo "removed SSM parameter $parameter"
  else
    echo "SSM parameter $parameter was not there"
  fi
fi
key="$(field key_arn)"; secret="$(field secret_arn)"; function="$(field function)"
sam delete --stack-name "$stack" --region "$region" --no-prompts
echo "removed stack $stack in $region: function $function, its role and log group, secret $secret (recovery window), key $key (scheduled for deletion)"
rm -f "$file"
echo "removed stage file $file"
