// The teacher's notebook, read from its public download link (a zip holding the .ipynb), so a
// push carries each cell's current source. The zip is read with the central directory and the
// browser's own DecompressionStream: no library needed for one file.

export interface SourceCell {
  cellId: string;
  cellType: string;
  source: string;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

async function inflate(bytes: Uint8Array, method: number): Promise<Uint8Array> {
  if (method === 0) return bytes;
  if (method !== 8) throw new Error(`unsupported zip compression ${method}`);
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The first `.ipynb` file of a zip archive. */
async function ipynbFromZip(buffer: ArrayBuffer): Promise<string> {
  const view = new DataView(buffer);
  let end = buffer.byteLength - 22;
  while (end >= 0 && view.getUint32(end, true) !== EOCD) end -= 1;
  if (end < 0) throw new Error('not a zip file');
  const entries = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  for (let entry = 0; entry < entries; entry += 1) {
    if (view.getUint32(offset, true) !== CENTRAL) break;
    const method = view.getUint16(offset + 10, true);
    const size = view.getUint32(offset + 20, true);
    const nameLength = view.getUint16(offset + 28, true);
    const skip = nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
    const local = view.getUint32(offset + 42, true);
    const name = decoder.decode(new Uint8Array(buffer, offset + 46, nameLength));
    if (name.endsWith('.ipynb') && view.getUint32(local, true) === LOCAL) {
      const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      return decoder.decode(await inflate(new Uint8Array(buffer, start, size), method));
    }
    offset += 46 + skip;
  }
  throw new Error('the archive holds no notebook');
}

/** The cells of the notebook by original cell id, in notebook order. */
export async function loadNotebookCells(downloadUrl: string): Promise<SourceCell[]> {
  const response = await fetch(downloadUrl);
  if (!response.ok) throw new Error(`the notebook file answered ${response.status}`);
  const notebook = JSON.parse(await ipynbFromZip(await response.arrayBuffer()));
  const mapping = new Map<string, string>(notebook?.metadata?.unianalytics_cell_mapping ?? []);
  const cells: Array<{ id?: string; cell_type?: string; source?: string | string[] }> = notebook?.cells ?? [];
  return cells.map((cell) => ({
    cellId: mapping.get(cell.id ?? '') ?? cell.id ?? '',
    cellType: cell.cell_type ?? 'code',
    source: Array.isArray(cell.source) ? cell.source.join('') : (cell.source ?? ''),
  }));
}
