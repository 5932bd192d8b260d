#!/usr/bin/env bats
# The TypeScript lint and format checks (`npm run lint`, stages "eslint" and "format" of npm test)
# hold the rules eslint.config.mjs and .prettierrc.json write down: planted files show each one bites.
load ../lib/require

setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)
  cd "$REPO" || return 1
  require_tools node
}

eslint_stdin() { # FILENAME: lints stdin as if it were that repository file
  npx --no-install eslint --stdin --stdin-filename "$1"
}

@test "product code may not use any; the tests and the mock runtime may" {
  run eslint_stdin components/planted.ts <<<'export const x: any = 1;'
  [ "$status" -eq 1 ]
  [[ $output == *"no-explicit-any"* ]]
  run eslint_stdin tests/unit/planted.test.ts <<<'export const x: any = 1;'
  [ "$status" -eq 0 ]
}

@test "an unused variable fails, one named with a leading _ (a left-out field) passes" {
  run eslint_stdin lib/planted.ts <<<'export function f(): number { const unused = 1; return 2; }'
  [ "$status" -eq 1 ]
  [[ $output == *"'unused' is assigned a value but never used"* ]]
  run eslint_stdin lib/planted.ts <<<'export function f(o: { a: number; b: number }) { const { a: _a, ...rest } = o; return rest; }'
  [ "$status" -eq 0 ]
}

@test "prettier: 4-space indents and double quotes pass, anything else fails" {
  run npx --no-install prettier --check --stdin-filepath lib/planted.ts <<<$'export function f(): string {\n    return "x";\n}'
  [ "$status" -eq 0 ]
  run npx --no-install prettier --check --stdin-filepath lib/planted.ts <<<$'export function f(): string {\n  return \'x\';\n}'
  [ "$status" -ne 0 ]
}
