// ESLint for the TypeScript: `npm run lint`, and the "lint" stage of `npm test`. Layout is
// Prettier's (.prettierrc.json, `npm run format`); these rules look for bugs, not style.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "vm-state/dist/", "**/*.js"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        linterOptions: { reportUnusedDisableDirectives: "error" },
        rules: {
            // `const { dropped: _dropped, ...rest } = x` is how the code leaves out a field.
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
            ],
            // Character classes list the characters AWS accepts, tab and newline among them.
            "no-control-regex": "off",
        },
    },
    {
        // The mock runtime and the tests handle Pulumi's untyped mock calls and resource inputs,
        // which are `any` in @pulumi/pulumi's own types. The product code may not use `any`.
        files: ["tests/**", "tools/plan/**", "bench/**", "acceptance/**"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
