// Clicking (or Enter on) a question in the notes asks it in the chat; a file in the file list opens its lines.
const pick = (event) => {
  const file = event.target.closest('a[data-open]');
  if (file) {
    event.preventDefault();
    const box = document.getElementById(file.dataset.open);
    if (box) { box.open = true; box.scrollIntoView({block: 'start', behavior: 'smooth'}); }
    return;
  }
  const row = event.target.closest('[data-ask]');
  if (!row || event.target.closest('a')) return;
  if (event.type === 'keydown' && event.key !== 'Enter') return;
  trigger('click', {question: row.dataset.ask});
};
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
