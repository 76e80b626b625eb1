"""Start Lost-Deal Coach: `python app.py` (see README). Wiring lives in coach/app/."""

from coach.app.main import main

if __name__ == "__main__":
    main()
