/**
 * The policy pack (policy/), run offline on planned resources exactly as `pulumi preview
 * --policy-pack policy` runs it: each planned resource becomes the engine's AnalyzeRequest (inputs
 * with their secrets marked as secrets, resource options) and goes through @pulumi/policy's own
 * analyze handler, so the SDK's deserialization, proxies and enforcement levels are the real ones.
 * The example stack and every fixture stack keep every policy; each policy has bad variants that
 * break it (edited planned resources, or an edited stack planned again). The last block starts the
 * pack with Pulumi's own policy-pack runner, the way the CLI does, and speaks gRPC to it.
 */
import { ChildProcess, spawn } from "child_process";
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import * as grpc from "@grpc/grpc-js";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { parse } from "yaml";
import { PlannedResource } from "../../tools/plan/mockRuntime";
import { planStack } from "../../tools/plan/run";
import { packName, policies, stateVolumeProblems, types } from "../../policy/policies";
import { inputsSeen } from "../../policy/secrets";
import { examplePlan, exampleStack, host as _unused, planDoc, repoRoot } from "../helpers/stacks";
