// A new alarm must be impossible to miss: a beep (WebAudio, no sound file needed) and a
// flash of the page's header. ``window.__cues`` counts both, for tests and for the record.

let audio = null;
window.__cues = { sound: 0, visual: 0 };

// Browsers start audio only after a user gesture: the login click or any key unlocks it.
export function unlockAudio() {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch (err) {
    console.warn("no audio", err);
  }
}

function beep() {
  if (!audio) unlockAudio();
  if (!audio) return;
  const now = audio.currentTime;
  for (const [offset, frequency] of [[0, 880], [0.25, 660], [0.5, 880]]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "square";
    tone.frequency.value = frequency;
    gain.gain.setValueAtTime(0.15, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.2);
    tone.connect(gain).connect(audio.destination);
    tone.start(now + offset);
    tone.stop(now + offset + 0.22);
  }
  window.__cues.sound += 1;
}

function flash() {
  const header = document.querySelector("header");
  header.classList.remove("alert-flash");
  void header.offsetWidth;  // restart the animation
  header.classList.add("alert-flash");
  window.__cues.visual += 1;
}

export function newAlarmCue() {
  beep();
  flash();
}
