/**
 * A stand-in for IAM's policy evaluation, for the subset our documents use (components/aws/
 * policies.ts): Allow and Deny, Action and Resource with `*` and `?` wildcards, and the condition
 * operators StringEquals and Null. An explicit Deny wins, then any Allow, else the request is
 * denied (IAM's "Policy evaluation logic" for one identity policy). A document using anything else
 * makes it throw rather than guess.
 */
import { PolicyDocument, PolicyStatement } from "../../components/aws/policies";

export interface IamRequest {
    readonly action: string;
    readonly resource: string;
    /** Condition keys and their values: `aws:ResourceTag/<key>`, `aws:RequestTag/<key>`, `ec2:CreateAction`. */
    readonly context: Readonly<Record<string, string>>;
}

const list = (v: string | readonly string[] | undefined): readonly string[] =>
    v === undefined ? [] : typeof v === "string" ? [v] : v;

function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
    const re = new RegExp(
        `^${pattern
            .split("")
            .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
            .join("")}$`,
        ignoreCase ? "i" : "",
    );
    return re.test(value);
}

function conditionHolds(condition: PolicyStatement["Condition"], context: IamRequest["context"]): boolean {
    return Object.entries(condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, expected]) => {
            const actual = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
            switch (operator) {
                case "StringEquals":
                    return actual !== undefined && list(expected).includes(actual);
                case "Null":
                    return list(expected).every((e) => (e === "true" ? actual === undefined : actual !== undefined));
                default:
                    throw new Error(`the IAM stand-in does not know the condition operator ${operator}`);
            }
        }),
    );
}

function applies(s: PolicyStatement, r: IamRequest): boolean {
    if (s.NotAction !== undefined) {
        throw new Error("the IAM stand-in does not evaluate NotAction");
    }
    return (
        list(s.Action).some((a) => glob(a, r.action, true)) &&
        list(s.Resource).some((p) => glob(p, r.resource, false)) &&
        conditionHolds(s.Condition, r.context)
    );
}

/** Whether `doc` allows `r`. */
export function allows(doc: PolicyDocument, r: IamRequest): boolean {
    const matching = doc.Statement.filter((s) => applies(s, r));
    return !matching.some((s) => s.Effect === "Deny") && matching.some((s) => s.Effect === "Allow");
}
