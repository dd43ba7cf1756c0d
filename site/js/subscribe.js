// The subscribe form: validates lightly, lets the API judge the address, and says what happened.

import { subscribe } from "./api.js";
import { readerMessage } from "./ui.js";

const NOT_AN_ADDRESS = "That does not look like an e-mail address. Check it and try again.";

export function setUpSubscribeForm() {
  const form = document.getElementById("subscribe-form");
  if (!form) {
    return;
  }
  const input = document.getElementById("subscribe-email");
  const button = document.getElementById("subscribe-submit");
  const message = document.getElementById("subscribe-message");
  const done = document.getElementById("subscribe-done");
  const doneText = document.getElementById("subscribe-done-text");
  const again = document.getElementById("subscribe-again");

  function showError(text) {
    message.textContent = text;
    message.classList.add("error");
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  function clearError() {
    message.textContent = "";
    message.classList.remove("error");
    input.removeAttribute("aria-invalid");
  }

  input.addEventListener("input", () => {
    if (input.hasAttribute("aria-invalid")) {
      clearError();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") {
      return;
    }
    const email = input.value.trim();
    if (!email) {
      showError("Enter your e-mail address.");
      return;
    }
    clearError();
    form.setAttribute("aria-busy", "true");
    button.disabled = true;
    button.textContent = "Subscribing…";
    message.textContent = "Subscribing…";
    try {
      await subscribe(email);
      message.textContent = "";
      doneText.textContent =
        `If ${email} is not subscribed yet, we have sent it a mail with a link to confirm. ` +
        "Open the link within 7 days: until you do, we send nothing else.";
      form.hidden = true;
      done.hidden = false;
      done.focus();
    } catch (error) {
      showError(readerMessage(error, NOT_AN_ADDRESS));
    } finally {
      form.removeAttribute("aria-busy");
      button.disabled = false;
      button.textContent = "Subscribe";
    }
  });

  again.addEventListener("click", () => {
    done.hidden = true;
    form.hidden = false;
    form.reset();
    clearError();
    input.focus();
  });
}
