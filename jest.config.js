/** Jest runs TypeScript through SWC (fast, no type check); `npm run typecheck` runs tsc separately. */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["@swc/jest"] },
    testTimeout: 60000,
};
