// Deliberate mistakes, each of which the generated types must reject. Every one is marked
// `// @ts-expect-error`: if a spec change makes the types loose enough to accept one (a body
// typed `unknown`, an object typed `Record<string, never>` or `{[key: string]: unknown}`, a
// stream body typed `unknown`), the directive is unused and `tsc --noEmit` fails.
// This file is only type-checked, never run.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Schemas = components["schemas"];
const client = createClient<paths>({ baseUrl: "http://127.0.0.1:4010" });
const GROUP = "evalgrp_01jv0000000000000000000001";
const FLOW = "flow_01jv0000000000000000000001";

export async function mistakes(): Promise<void> {
  // A wrong field name: `flowID` for `flowId`. Caught even inline: the body needs `flowId` or
  // `agent` (the spec's `anyOf` of `required`, which the generated type keeps as a union).
  await client.POST("/v1/eval/submit", {
    // @ts-expect-error -- `flowID` is not a field of SubmitEvalRequest, and the target is missing
    body: { flowID: FLOW, evalConfigs: [{ evalName: "GPT-4o" }] },
  });

  // A misspelt optional field. openapi-fetch does not flag extra keys in an inline body once
  // its required fields are there (openapi-ts/openapi-typescript#1769), so type the body with
  // `satisfies` (as src/main.ts does) to have TypeScript check it exactly.
  await client.POST("/v1/eval/compare", {
    // @ts-expect-error -- `stepIDs` is not a field of CompareEvalsRequest (`stepIds` is)
    body: { evalGroupId: GROUP, stepIDs: [] } satisfies Schemas["CompareEvalsRequest"],
  });

  // A wrong type: `stepIds` is a list of strings.
  await client.POST("/v1/eval/compare", {
    // @ts-expect-error -- `stepIds` must be string[]
    body: { evalGroupId: GROUP, stepIds: "step_01jv0000000000000000000001" },
  });

  // A wrong type deep inside: a step override's temperature is a number.
  await client.POST("/v1/eval/stream", {
    body: {
      flowId: FLOW,
      // @ts-expect-error -- `temperature` must be a number
      evalConfigs: [{ stepOverrides: { step_01jv0000000000000000000001: { temperature: "0.2" } } }],
    },
  });

  // A missing required field: compare-record needs `recordId`.
  await client.POST("/v1/eval/compare-record", {
    // @ts-expect-error -- `recordId` is required
    body: { evalGroupId: GROUP },
  });

  // A missing required field: analyze-steps needs `searchTerms`.
  await client.POST("/v1/eval/analyze-steps", {
    // @ts-expect-error -- `searchTerms` is required
    body: { evalGroupId: GROUP, stepIds: [] },
  });

  // A missing body: every POST has a required body.
  // @ts-expect-error -- `body` is required
  await client.POST("/v1/eval/compare", {});

  // A missing path parameter.
  // @ts-expect-error -- `params.path.groupId` is required
  await client.GET("/v1/eval/group/{groupId}", {});

  // A query value of the wrong type: the vendor's `limit` is a string.
  await client.GET("/v1/eval/batches", {
    // @ts-expect-error -- `limit` must be a string
    params: { query: { limit: 5 } },
  });

  // An enum value outside the set.
  await client.POST("/v1/eval/stream", {
    body: {
      flowId: FLOW,
      evalConfigs: [{}],
      // @ts-expect-error -- `role` is `system`, `user` or `assistant`
      messages: [{ role: "robot", content: "hi" }],
    },
  });

  // Free-form objects take any JSON object, but not a string.
  await client.POST("/v1/eval/stream", {
    body: {
      flowId: FLOW,
      evalConfigs: [{}],
      // @ts-expect-error -- `metadata` is an object
      record: { name: "n", type: "customer", metadata: "plan=enterprise" },
    },
  });
}

export function narrowing(response: Schemas["SubmitEvalResponse"], event: Schemas["ExecutionStreamEvent"]): void {
  // The submit response is one of two complete shapes: a field of one is not on the union.
  // @ts-expect-error -- `submissions` exists only on the eval-group shape
  void response.submissions;
  if ("submissions" in response) {
    void response.submissions.length;
    // @ts-expect-error -- narrowed to EvalGroupSubmission, which has no `batchExecutionId`
    void response.batchExecutionId;
  } else {
    void response.batchExecutionId.length;
  }

  // Stream events are a union discriminated by `type`.
  if (event.type === "text_delta") {
    const delta: string = event.delta;
    void delta;
    // @ts-expect-error -- a text_delta has no `output`
    void event.output;
  }
  // @ts-expect-error -- no event type is spelled like that
  if (event.type === "text-delta") return;

  // Free-form objects are objects, but not `Record<string, never>`: reading a key gives unknown.
  const metadata: NonNullable<Schemas["VirtualRecord"]["metadata"]> = { plan: "enterprise", seats: 40 };
  // @ts-expect-error -- an unknown value is not a string without a check
  const plan: string = metadata.plan;
  void plan;
}
