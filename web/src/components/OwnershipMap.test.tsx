import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { buildOwnership, summariseOwnership } from "../lib/ownership";
import { partition } from "../test/fixtures";
import { OwnershipMap } from "./OwnershipMap";

const cells = () => screen.getAllByTestId("partition-cell");

describe("OwnershipMap", () => {
  it("draws one cell per partition in partition order, whatever order the API lists them", () => {
    render(
      <OwnershipMap
        partitions={[partition(2, "b-1", "blue"), partition(0, "b-0", "blue"), partition(1, "g-0", "green")]}
      />,
    );
    expect(cells().map((c) => c.dataset.partition)).toEqual(["payments/0", "payments/1", "payments/2"]);
  });

  it("labels each owned cell with its instance and colour in words, not colour alone", () => {
    render(<OwnershipMap partitions={[partition(0, "billing-blue-0", "blue"), partition(1, "billing-green-1", "green")]} />);
    const [blue, green] = cells();
    expect(within(blue!).getByText("billing-blue-0")).toBeInTheDocument();
    expect(within(blue!).getByText("blue")).toBeInTheDocument();
    expect(blue).toHaveClass("cell-blue");
    expect(blue).toHaveAttribute("data-owner-colour", "blue");
    expect(within(green!).getByText("billing-green-1")).toBeInTheDocument();
    expect(within(green!).getByText("green")).toBeInTheDocument();
    expect(green).toHaveClass("cell-green");
    expect(green).toHaveAccessibleName("live payments/1: owned by billing-green-1 (green), lag 0");
  });

  it("shows a partition without owner as unowned, with text and a distinct style", () => {
    render(<OwnershipMap partitions={[partition(0, null, null, 42)]} />);
    const [cell] = cells();
    expect(cell).toHaveClass("cell-unowned");
    expect(within(cell!).getByText("no owner")).toBeInTheDocument();
    expect(within(cell!).getByText("unowned")).toBeInTheDocument();
    expect(within(cell!).getByText("lag 42")).toBeInTheDocument();
  });

  it("treats an owner whose colour is missing as unowned rather than guessing a colour", () => {
    const odd = { ...partition(0, "ghost", null) };
    render(<OwnershipMap partitions={[odd]} />);
    expect(cells()[0]).toHaveAttribute("data-owner-colour", "unowned");
  });

  it("counts owners per colour in a summary line", () => {
    render(
      <OwnershipMap
        partitions={[partition(0, "b-0", "blue"), partition(1, "g-0", "green"), partition(2, "g-0", "green"), partition(3, null, null)]}
      />,
    );
    expect(screen.getByTestId("ownership-summary")).toHaveTextContent("4 partitions: 1 blue, 2 green, 1 unowned");
  });

  it("marks pinned partitions and flags a pin its owner does not match yet", () => {
    render(<OwnershipMap partitions={[partition(3, "b-0", "blue")]} pins={{ "payments/3": "g-1" }} />);
    const [cell] = cells();
    expect(cell).toHaveAccessibleName(/pinned to g-1 \(not there yet\)/);
    expect(cell).toHaveClass("cell-moving");
  });

  it("says so when there are no partitions instead of rendering nothing", () => {
    render(<OwnershipMap partitions={[]} />);
    expect(screen.getByRole("status")).toHaveTextContent("No partitions to show.");
  });

  it("becomes keyboard-operable toggle buttons in selection mode", async () => {
    const onToggle = vi.fn();
    render(<OwnershipMap partitions={[partition(0, "b-0", "blue"), partition(1, "b-0", "blue")]} selected={new Set(["payments/1"])} onToggle={onToggle} />);
    const buttons = screen.getAllByRole("button");
    expect(buttons[0]).toHaveAttribute("aria-pressed", "false");
    expect(buttons[1]).toHaveAttribute("aria-pressed", "true");
    buttons[0]!.focus();
    await userEvent.keyboard("{Enter}");
    expect(onToggle).toHaveBeenCalledWith("payments/0");
  });

  it("groups by binding and topic, live first", () => {
    const preview = { ...partition(0, "g-0", "green"), binding: "preview", topic: "payments-preview" };
    const groups = buildOwnership([preview, partition(0, "b-0", "blue"), { ...partition(0, "b-0", "blue"), topic: "alerts" }]);
    expect(groups.map((g) => `${g.binding}:${g.topic}`)).toEqual(["live:alerts", "live:payments", "preview:payments-preview"]);
    expect(summariseOwnership(groups)).toEqual({ blue: 2, green: 1, unowned: 0, total: 3 });
  });
});
