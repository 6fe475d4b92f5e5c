import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mockApi, reply } from "../test/api";
import { makeDeployment, makeMirror } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { NewDeploymentPage } from "./NewDeploymentPage";

const CLUSTERS = {
  data: [
    { name: "local", kafka_bootstrap: "k:9092" },
    { name: "dr", kafka_bootstrap: "dr:9092" },
  ],
  count: 2,
};

function type(label: string, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

describe("NewDeploymentPage", () => {
  it("creates a mirror with a preview of each topic's copy and sends exactly what was chosen", async () => {
    const { calls } = mockApi({
      "GET /whoami": { name: "ada", role: "admin" },
      "GET /clusters": CLUSTERS,
      "POST /deployments": { status: 201, body: makeDeployment({ name: "orders-mirror" }) },
    });
    renderSignedIn(<NewDeploymentPage />);
    await screen.findByLabelText("Name");
    type("Name", "orders-mirror");
    type("Consumer group", "orders-mirror");
    type("Topics (comma-separated)", "orders, payments");
    fireEvent.click(screen.getByLabelText("Mirror to another cluster"));
    type("Source alias", "eu");
    fireEvent.click(screen.getByLabelText("Source coordinates as headers"));
    type("More source topics (regular expression)", "orders\\..*");
    expect(screen.getByTestId("mirror-preview")).toHaveTextContent(
      "orders → eu.orders, payments → eu.payments, each topic matching orders\\..* → eu.<topic> on dr",
    );
    type("Topic naming", "template");
    expect(screen.getByTestId("mirror-preview")).toHaveTextContent("orders → mirror.eu.orders");
    type("Topic naming", "prefix");
    fireEvent.click(screen.getByRole("button", { name: "Create deployment" }));
    await screen.findByRole("button", { name: "Creating…" });
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({
      name: "orders-mirror",
      cluster: "local",
      live: { group: "orders-mirror", topics: ["orders", "payments"] },
      strategy: "range",
      colours: { blue: { version: "1" }, green: { version: "2" } },
      mirror: {
        target_cluster: "dr",
        source_alias: "eu",
        naming: "prefix",
        prefix: null,
        template: null,
        coordinate_headers: true,
        source_topic_pattern: "orders\\..*",
      },
    });
  });

  it("creates a mirror of a source topic pattern alone, with no listed topic", async () => {
    const { calls } = mockApi({
      "GET /whoami": { name: "ada", role: "admin" },
      "GET /clusters": CLUSTERS,
      "POST /deployments": { status: 201, body: makeDeployment({ name: "audit-mirror" }) },
    });
    renderSignedIn(<NewDeploymentPage />);
    await screen.findByLabelText("Name");
    type("Name", "audit-mirror");
    type("Consumer group", "audit-mirror");
    expect(screen.getByLabelText("Topics (comma-separated)")).toBeRequired();
    fireEvent.click(screen.getByLabelText("Mirror to another cluster"));
    type("More source topics (regular expression)", "audit\\..*");
    expect(screen.getByLabelText("Topics (comma-separated)")).not.toBeRequired();
    expect(screen.getByTestId("mirror-preview")).toHaveTextContent("each topic matching audit\\..* → local.<topic> on dr");
    fireEvent.click(screen.getByRole("button", { name: "Create deployment" }));
    await screen.findByRole("button", { name: "Creating…" });
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toMatchObject({
      live: { group: "audit-mirror", topics: [] },
      mirror: { target_cluster: "dr", source_topic_pattern: "audit\\..*" },
    });
  });

  it("lets green consume the copies of a mirror from the chosen cluster (cluster migration)", async () => {
    const mirror = makeMirror("orders-mirror", "orders");
    const { calls } = mockApi({
      "GET /whoami": { name: "ada", role: "admin" },
      "GET /clusters": CLUSTERS,
      "GET /deployments": { data: [mirror, makeDeployment({ name: "plain" })], count: 2 },
      "POST /deployments": { status: 201, body: makeDeployment({ name: "billing" }) },
    });
    renderSignedIn(<NewDeploymentPage />);
    await screen.findByLabelText("Green consumes the copies of");
    expect(screen.getAllByRole("option", { name: /mirror / }).map((o) => o.textContent)).toEqual(["mirror orders-mirror → dr"]);
    type("Name", "billing");
    type("Consumer group", "billing");
    type("Topics (comma-separated)", "orders");
    type("Green consumes the copies of", "orders-mirror");
    expect(screen.getByTestId("migration-preview")).toHaveTextContent("Green runs on dr and consumes the copies made by orders-mirror");
    fireEvent.click(screen.getByRole("button", { name: "Create deployment" }));
    await screen.findByRole("button", { name: "Creating…" });
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toMatchObject({ colours: { blue: { version: "1" }, green: { version: "2", via_mirror: "orders-mirror" } } });
  });

  it("shows the server's refusal, field by field, and keeps what was typed", async () => {
    mockApi({
      "GET /whoami": { name: "ada", role: "admin" },
      "GET /clusters": CLUSTERS,
      "POST /deployments": reply(422, {
        detail: [{ loc: ["body", "mirror", "naming"], msg: "source topic 'o' would be mirrored to 'bad prefix/o'" }],
      }),
    });
    renderSignedIn(<NewDeploymentPage />);
    await screen.findByLabelText("Name");
    type("Name", "m");
    type("Consumer group", "g");
    type("Topics (comma-separated)", "o");
    fireEvent.click(screen.getByRole("button", { name: "Create deployment" }));
    expect(await screen.findByTestId("create-error")).toHaveTextContent("body.mirror.naming: source topic 'o' would be mirrored");
    expect(screen.getByLabelText("Name")).toHaveValue("m");
  });

  it("tells a non-admin that creating needs the admin role", async () => {
    mockApi({ "GET /whoami": { name: "olga", role: "operator" }, "GET /clusters": CLUSTERS });
    renderSignedIn(<NewDeploymentPage />);
    expect(await screen.findByText("Creating a deployment needs the admin role.")).toBeInTheDocument();
    expect(screen.queryByLabelText("Name")).not.toBeInTheDocument();
  });
});
