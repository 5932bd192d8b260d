import { humanSize, lastLine, sanitise, shown, systemMessage } from "../../../vm-state/src/text";

describe("text for the terminal", () => {
    test("shown quotes a name and hides what is not printable", () => {
        expect(shown("web")).toBe("'web'");
        expect(shown("a\tb\u001b[2Jc\u00e9")).toBe("'a?b?[2Jc?'");
    });

    test("sanitise removes escape sequences and control characters from another program's output", () => {
        expect(sanitise("ok\u001b[31mred\u001b[0m\u001b]0;title\u0007 end\r\nnext\u0000")).toBe("okred end\nnext?");
        expect(sanitise("\u202evm-state: fake")).toBe("?vm-state: fake");
    });

    test("lastLine is the last non-empty line, sanitised", () => {
        expect(lastLine("cp: a\ncp: error writing 'x': No space left on device\n\n")).toBe(
            "cp: error writing 'x': No space left on device",
        );
        expect(lastLine("")).toBe("");
        expect(lastLine("\u001b[1mbold\u001b[0m\n")).toBe("bold");
    });

    test("systemMessage reads as strerror", () => {
        const err = Object.assign(new Error("ENOSPC: no space left on device, open '/x'"), { code: "ENOSPC" });
        expect(systemMessage(err)).toBe("No space left on device");
        expect(
            systemMessage(Object.assign(new Error("EROFS: read-only file system, mkdir '/r'"), { code: "EROFS" })),
        ).toBe("Read-only file system");
    });

    test.each([
        [null, "-"],
        [12, "12B"],
        [2048, "2K"],
        [1572864, "1.5M"],
        [1073741824, "1G"],
        [1610612736, "1.5G"],
        [1181116006, "1G"],
    ])("humanSize(%p) = %s", (bytes, text) => {
        expect(humanSize(bytes)).toBe(text);
    });
});
