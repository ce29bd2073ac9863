// Calls all eight operations of the Runtype Evals API on a running evalmock with a client
// generated from the mock's own spec (openapi-typescript types + openapi-fetch), reads the
// stream incrementally, and handles typed error bodies. Bodies are written `{...} satisfies
// Schemas["..."]` because openapi-fetch does not flag a misspelt optional field in an inline body
// (openapi-ts/openapi-typescript#1769); `satisfies` makes TypeScript check the literal exactly.
//
//   EVALMOCK_URL=http://127.0.0.1:4010 npx tsx src/main.ts
//
// Prints one `ok <check>` or `FAIL <check>: <why>` line per check, then
// `main: N passed, N failed`; exits 1 when a check failed.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type ApiError = Schemas["Error"];
type StreamEvent = Schemas["ExecutionStreamEvent"];

const baseUrl = process.env.EVALMOCK_URL ?? "http://127.0.0.1:4010";
const apiKey = "rt_test_ts_example";
const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${apiKey}` },
});

const GROUP = "evalgrp_01jv0000000000000000000001";
const FLOW = "flow_01jv0000000000000000000001";
const RECORD = "record_01jv0000000000000000000001";
const STEP = "step_01jv0000000000000000000001";

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, why = ""): void {
  if (ok) {
    passed += 1;
    console.log(`ok ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${why ? `: ${why}` : ""}`);
  }
}
function describe(error: ApiError | undefined): string {
  return error ? JSON.stringify(error) : "no error body";
}

async function listBatches(): Promise<void> {
  const { data, error, response } = await client.GET("/v1/eval/batches", {
    params: { query: { limit: "5", offset: "0", status: "completed" } },
  });
  check(
    "listEvalBatches",
    response.status === 200 && data !== undefined && data.count === data.batches.length && data.count <= 5,
    error ? describe(error) : `status ${response.status}`,
  );
}

async function getGroup(): Promise<string | undefined> {
  const { data, error } = await client.GET("/v1/eval/group/{groupId}", {
    params: { path: { groupId: GROUP } },
  });
  check("getEvalGroup", data !== undefined && data.evalGroupId === GROUP && data.batches.length > 0, describe(error));
  return data?.batches[0]?.batchExecutionId;
}

async function compare(): Promise<void> {
  const { data, error } = await client.POST("/v1/eval/compare", {
    body: { evalGroupId: GROUP, stepIds: [STEP] } satisfies Schemas["CompareEvalsRequest"],
  });
  const costs = data?.evals.map((e) => e.metrics.totalCost) ?? [];
  check("compareEvals", costs.length > 0 && costs.every((c) => c >= 0), describe(error));
}

async function compareRecord(): Promise<void> {
  const { data, error } = await client.POST("/v1/eval/compare-record", {
    body: { evalGroupId: GROUP, recordId: RECORD } satisfies Schemas["CompareRecordRequest"],
  });
  check("compareRecordAcrossEvals", data !== undefined && data.recordId === RECORD && data.evals.length > 0, describe(error));
}

async function results(batchId: string | undefined): Promise<void> {
  if (batchId === undefined) {
    check("getEvalResults", false, "no batch id from get-group");
    return;
  }
  const { data, error } = await client.GET("/v1/eval/{id}/results", {
    params: { path: { id: batchId } },
  });
  const records = data ? Object.keys(data.resultsByRecord) : [];
  check("getEvalResults", data?.batchExecutionId === batchId && records.length > 0, describe(error));
}

async function analyzeSteps(): Promise<void> {
  const { data, error } = await client.POST("/v1/eval/analyze-steps", {
    // `caseSensitive` may be left out (it defaults to false): the generated type has it optional.
    body: { evalGroupId: GROUP, stepIds: [], searchTerms: ["refund", "sorry|apolog"] } satisfies Schemas["AnalyzeStepsRequest"],
  });
  const terms = data?.results[0]?.termAnalysis.map((t) => t.term) ?? [];
  check("analyzeStepResults", terms.join(",") === "refund,sorry|apolog", describe(error));
}

async function submit(): Promise<void> {
  // One eval: the single-batch shape.
  const single = await client.POST("/v1/eval/submit", {
    body: {
      flowId: FLOW,
      evalName: "GPT-4o",
      evalConfig: { stepOverrides: { [STEP]: { model: "gpt-4o" } } },
      recordIds: [RECORD],
    } satisfies Schemas["SubmitEvalRequest"],
  });
  const one = single.data;
  // The response is a `oneOf` of two complete named objects, so `in` narrows it.
  if (one !== undefined && "batchExecutionId" in one) {
    check("submitEval (single batch)", one.batchExecutionId.startsWith("evalbatch_") && one.evalName === "GPT-4o");
  } else {
    check("submitEval (single batch)", false, describe(single.error));
  }

  // Several evals: the eval-group shape. Inline records' `metadata` is free-form
  // (`additionalProperties: true`: any JSON object, not `Record<string, never>`).
  const group = await client.POST("/v1/eval/submit", {
    body: {
      flowId: FLOW,
      evalConfigs: [
        { evalName: "GPT-4o", stepOverrides: { [STEP]: { model: "gpt-4o" } } },
        { evalName: "Claude", overrides: { steps: { [STEP]: { model: "claude-sonnet-4-5", topP: 0.9 } } } },
      ],
      records: [{ name: "Inline customer", type: "customer", metadata: { plan: "enterprise", seats: 40 } }],
    } satisfies Schemas["SubmitEvalRequest"],
  });
  const many = group.data;
  if (many !== undefined && "submissions" in many) {
    check("submitEval (eval group)", many.totalEvals === 2 && many.submissions.length === 2);
  } else {
    check("submitEval (eval group)", false, describe(group.error));
  }
}

/** Reads `data:` lines of a server-sent event stream as they arrive. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    // A message ends with a blank line; its `data:` lines are the payload.
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data !== "") yield JSON.parse(data) as StreamEvent;
    }
  }
}

async function stream(): Promise<void> {
  // The request body is typed through the generated client; `parseAs: "stream"` hands back the
  // unread body, which is then read incrementally (generated clients do not parse SSE).
  const { response, error } = await client.POST("/v1/eval/stream", {
    body: {
      flowId: FLOW,
      evalConfigs: [{ evalName: "GPT-4o", stepOverrides: { [STEP]: { model: "gpt-4o", temperature: 0.2 } } }],
      record: { name: "Test Customer 1", type: "customer", metadata: { plan: "enterprise" } },
    } satisfies Schemas["StreamEvalRequest"],
    parseAs: "stream",
  });
  if (!response.ok || response.body === null) {
    check("streamEvalExecution", false, `status ${response.status} ${describe(error)}`);
    return;
  }
  const text = new Map<string, string>(); // step id -> concatenated text_delta.delta
  const stepOf = new Map<string, string>(); // text block id -> step id
  const outputs = new Map<string, string>(); // step id -> step_complete.output
  let events = 0;
  let completed = false;
  for await (const event of sseEvents(response.body)) {
    events += 1;
    // `type` discriminates the generated ExecutionStreamEvent union.
    switch (event.type) {
      case "text_start":
        stepOf.set(event.id, event.stepId ?? event.id);
        break;
      case "text_delta": {
        const step = stepOf.get(event.id) ?? event.id;
        text.set(step, (text.get(step) ?? "") + event.delta);
        break;
      }
      case "step_complete":
        if (typeof event.output === "string") outputs.set(event.id, event.output);
        break;
      case "execution_complete":
        completed = event.success === true;
        break;
      case "execution_error":
        console.log(`execution ${event.executionId} failed: ${JSON.stringify(event.error)}`);
        break;
      default:
        break;
    }
  }
  const first = text.get(STEP) ?? "";
  console.log(`stream: ${events} events; ${STEP} said ${first.slice(0, 60)}...`);
  const same = [...outputs].every(([step, output]) => text.get(step) === output);
  check("streamEvalExecution", completed && first.length > 0 && outputs.size > 0 && same, `completed=${completed} steps=${outputs.size} deltasMatchOutputs=${same}`);
}

async function badRequest(): Promise<void> {
  const { data, error, response } = await client.POST("/v1/eval/compare-record", {
    // @ts-expect-error -- deliberately invalid: `recordId` is required (what an untyped caller might send)
    body: { evalGroupId: GROUP },
  });
  // `error` is typed from the 400 response: the API's Error with its details.
  const missing = error?.details?.find((d) => d.code === "MISSING_REQUIRED_FIELD");
  check(
    "400 with typed error body",
    response.status === 400 && data === undefined && error?.error === "Invalid request" && missing?.path === "recordId",
    describe(error),
  );
}

async function notFound(): Promise<void> {
  const { error, response } = await client.GET("/v1/eval/group/{groupId}", {
    params: { path: { groupId: GROUP } },
    headers: { Prefer: "code=404" },
  });
  check(
    "Prefer: code=404 with typed error body",
    response.status === 404 && typeof error?.error === "string" && (error.details?.length ?? 0) > 0,
    describe(error),
  );
}

async function main(): Promise<void> {
  console.log(`evalmock at ${baseUrl}`);
  await listBatches();
  const batchId = await getGroup();
  await compare();
  await compareRecord();
  await results(batchId);
  await analyzeSteps();
  await submit();
  await stream();
  await badRequest();
  await notFound();
  console.log(`main: ${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.log(`FAIL main: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  console.log(`main: ${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
