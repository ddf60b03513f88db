"""One ``APIRouter`` per file."""
