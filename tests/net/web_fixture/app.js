// A module used by tests/net/web_test.cpp.
export function greet(name) {
  return `Hello, ${name}! Hello, ${name}! Hello, ${name}! Hello, ${name}!`;
}
document.querySelector("p")?.append(greet("fixture"));
