// The try-it page: reads the engine's capabilities and limits, posts to /v1/tts, plays and offers the result.
"use strict";

const $ = (id) => document.getElementById(id);
let maxChars = 0;
let lastUrl = null;
const KEY_STORAGE = "voicefleet-api-key";

// Bearer header from the key field (sessionStorage: the key never outlives the tab, never reaches localStorage).
function authHeaders() {
  const key = $("api_key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function getJson(url) {
  const response = await fetch(url, { headers: authHeaders() });
  if (response.status === 401 || response.status === 403) {
    throw new Error("this service needs a valid API key: enter it above");
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

async function loadInfo() {
  $("status").classList.remove("error");
  $("status").textContent = "";
  const models = await getJson("/v1/models");
  const model = models.data[0];
  const caps = model.capabilities;
  maxChars = model.max_text_chars;
  $("text").maxLength = maxChars;
  $("engine").textContent =
    `Engine ${model.id}: ${caps.languages.join(", ")} · ${caps.sample_rate} Hz · clone ${caps.clone ? "yes" : "no"}` +
    ` · instructions ${caps.instruct ? "yes" : "no"} · pronunciation tags ${caps.phoneme_tags ? "yes" : "no"}` +
    ` · up to ${maxChars} characters`;
  $("engine").dataset.maxChars = String(maxChars);
  $("language").replaceChildren(new Option("auto", ""));
  for (const lang of caps.languages) $("language").add(new Option(lang, lang));
  const voices = await getJson("/v1/voices");
  $("voice").replaceChildren();
  // The list is this key's: built-in voices, its tenant's saved voices and shared ones (all of them for an admin).
  for (const voice of voices.voices) {
    const label = voice.kind === "saved" && voice.shared ? "saved, shared" : voice.kind;
    $("voice").add(new Option(`${voice.name} (${label})`, voice.name));
  }
  updateCounter();
}

function updateCounter() {
  const length = $("text").value.trim().length;
  $("counter").textContent = `${length}/${maxChars}`;
  $("counter").classList.toggle("over", length > maxChars);
}

function showError(message) {
  $("status").textContent = message;
  $("status").classList.add("error");
}

async function speak(event) {
  event.preventDefault();
  $("status").classList.remove("error");
  $("status").textContent = "Synthesizing…";
  $("notes").replaceChildren();
  const form = new FormData();
  const format = $("format").value;
  form.append("text", $("text").value);
  form.append("format", format);
  form.append("speed", $("speed").value);
  if ($("language").value) form.append("language", $("language").value);
  if ($("instruct").value.trim()) form.append("instruct", $("instruct").value.trim());
  const clip = $("prompt_audio").files[0];
  if (clip) {
    form.append("prompt_audio", clip);
    if ($("prompt_text").value.trim()) form.append("prompt_text", $("prompt_text").value.trim());
  } else if ($("voice").value) {
    form.append("voice", $("voice").value);
  }
  $("speak").disabled = true;
  try {
    const response = await fetch("/v1/tts", { method: "POST", body: form, headers: authHeaders() });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const error = body.error || {};
      showError(`Error ${response.status}${error.param ? ` (${error.param})` : ""}: ${error.message || response.statusText}`);
      return;
    }
    const blob = await response.blob();
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(blob);
    $("player").src = lastUrl;
    $("download").href = lastUrl;
    $("download").download = `speech.${format}`;
    $("download").hidden = false;
    for (const note of JSON.parse(response.headers.get("X-Engine-Notes") || "[]")) {
      const item = document.createElement("li");
      item.textContent = note;
      $("notes").append(item);
    }
    const seconds = response.headers.get("X-Audio-Duration");
    $("status").textContent = `Done: ${seconds} s of audio, ${blob.size} bytes (${format}).`;
  } catch (error) {
    showError(`Request failed: ${error}`);
  } finally {
    $("speak").disabled = false;
  }
}

function reload() {
  loadInfo().catch((error) => showError(`Cannot load the engine information: ${error.message || error}`));
}

$("api_key").value = sessionStorage.getItem(KEY_STORAGE) || "";
$("api_key").addEventListener("change", () => {
  sessionStorage.setItem(KEY_STORAGE, $("api_key").value.trim());
  reload();
});
$("text").addEventListener("input", updateCounter);
$("tts-form").addEventListener("submit", speak);
reload();
