() => {
  // citation links open their source; the copy button copies the answer as text (installed once per page)
  if (window.__tutorUi) return;
  window.__tutorUi = true;
  document.addEventListener('click', (event) => {
    const cite = event.target.closest('a.cite');
    if (cite) {
      event.preventDefault();
      const box = document.getElementById(cite.getAttribute('href').slice(1));
      if (!box) return;
      box.open = true;
      box.classList.remove('flash');
      void box.offsetWidth;
      box.classList.add('flash');
      box.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      return;
    }
    const copy = event.target.closest('button.copy-answer');
    if (copy) {
      const answer = copy.closest('.tutor-answer');
      const sources = [...answer.querySelectorAll('.source summary')].map((s) => s.innerText.trim());
      const text = answer.querySelector('.answer-text').innerText.trim() + (sources.length ? '\n\n' + sources.join('\n') : '');
      const done = () => { copy.textContent = 'copied · 已复制'; setTimeout(() => { copy.textContent = 'copy answer · 复制'; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); return; }
      const area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove(); done();
    }
  });
}
