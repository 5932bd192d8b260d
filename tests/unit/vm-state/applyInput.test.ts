/** apply's input: one slot map, checked completely, read with a limit, in linear time, stopped by a signal. */
import { PassThrough } from "stream";
import { applyInputLimit, jsonDocuments, parseApplyInput, readLimited } from "../../../vm-state/src/applyInput";

const parse = (text: string) => parseApplyInput(Buffer.from(text, "utf8"));

describe("apply's input", () => {
    test("the map's pairs, in the input's order", () => {
        expect(parse('{"slots": {"slot3": "web", "slot1": "db"}}\n')).toEqual([
            ["slot3", "web"],
            ["slot1", "db"],
        ]);
        expect(parse('  {"slots": {}}  ')).toEqual([]);
    });

    test.each([
        ["", "apply input is empty"],
        [" \n\t", "apply input is empty"],
        ["not json", "apply input must be JSON like"],
        ["{}", "apply input must be JSON like"],
        ['{"slots": ["slot1"]}', "apply input must be JSON like"],
        ['{"slots": {"slot1": 3}}', "apply input must be JSON like"],
        ['{"slots": {"slot1": "a"}} {"slots": {}}', "apply input holds several JSON documents"],
        ['{"slots": {}}{"slots": {}}', "apply input holds several JSON documents"],
        ["1 2", "apply input holds several JSON documents"],
        ['{"slots": {"slot1": "a"}, "extra": true}', "unknown key 'extra'"],
        ['\ufeff{"slots": {}}', "apply input starts with a byte order mark"],
    ])("%j: %s (exit 2)", (text, message) => {
        expect(() => parse(text)).toThrow(
            expect.objectContaining({ code: 2, message: expect.stringContaining(message) }),
        );
    });

    test("not UTF-8, or larger than the limit, is refused", () => {
        expect(() => parseApplyInput(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow("apply input is not UTF-8");
        expect(() => parseApplyInput(Buffer.alloc(applyInputLimit + 1, 0x20))).toThrow(
            `apply input is larger than ${applyInputLimit} bytes`,
        );
    });

    test("JSON documents are split as jq -s reads them, strings with braces and escapes included", () => {
        expect(jsonDocuments('{"a": "}{\\""} [1, {"b": "]"}] "x" true')).toEqual([
            { a: '}{"' },
            [1, { b: "]" }],
            "x",
            true,
        ]);
        expect(jsonDocuments('{"a": ')).toBeUndefined();
    });

    test("a megabyte of whitespace before the map is read in linear time", () => {
        const text = `${" ".repeat(1_000_000)}{"slots": {"slot1": "web"}}`;
        const start = process.hrtime.bigint();
        expect(parse(text)).toEqual([["slot1", "web"]]);
        // Linear: a few milliseconds; the bash version took about a minute. Generous for a busy machine.
        expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(5000);
    });
});

describe("readLimited", () => {
    test("the stream's bytes up to the end", async () => {
        const s = new PassThrough();
        const read = readLimited(s, undefined, 100);
        s.write("ab");
        s.end("cd");
        expect((await read).toString()).toBe("abcd");
    });

    test("stops at the first chunk past the limit, without reading to the end", async () => {
        const s = new PassThrough();
        const read = readLimited(s, undefined, 4);
        s.write("abc");
        s.write("de");
        await expect(read).rejects.toMatchObject({ code: 2, message: "apply input is larger than 4 bytes" });
    });

    test("a signal stops the wait for input that never ends", async () => {
        const s = new PassThrough();
        const controller = new AbortController();
        const read = readLimited(s, controller.signal, 100);
        s.write("{");
        controller.abort(new Error("SIGTERM"));
        await expect(read).rejects.toThrow("SIGTERM");
    });
});
