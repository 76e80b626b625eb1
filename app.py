"""Start Lost-Deal Coach: `python app.py` (see README). Wiring lives in coach/main.py."""

from coach.main import main

if __name__ == "__main__":
    main()
