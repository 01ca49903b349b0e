import { data } from "react-router";

/** Every unknown path: a 404 rendered by the root ErrorBoundary. */
export function loader() {
  throw data("Not found", { status: 404 });
}

export async function action() {
  throw data("Not found", { status: 404 });
}

export default function NotFound() {
  return null;
}
